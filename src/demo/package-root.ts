/** Where the demo builder's own files live, from the compiled (`dist/src/demo`) or the TS module. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FactoryError } from '../errors.js';

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'demo'))) return dir;
    dir = dirname(dir);
  }
  throw new FactoryError('INTERNAL', 'demo builder: package root (with src/demo/) not found');
}

/** The package root (the folder holding package.json and src/). */
export const PACKAGE_ROOT = findPackageRoot();

/** The demo builder's TypeScript sources: what its output depends on (hashed into cache keys). */
export const DEMO_SOURCE_DIR = join(PACKAGE_ROOT, 'src', 'demo');

/** Files copied into the demo releases verbatim (the fixture init, its awk helper). */
export const DEMO_ASSETS_DIR = join(DEMO_SOURCE_DIR, 'assets');
