/** The factory's own version, read from the nearest package.json (works from src/ and dist/). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Returns the `version` field of this package's package.json. */
export function factoryVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'image-factory' && pkg.version) return pkg.version;
    }
    dir = dirname(dir);
  }
  return '0.0.0-dev';
}
