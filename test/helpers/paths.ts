/** Repository-relative locations for test caches (never an absolute path of one machine). */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tsconfig.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('repository root not found above test/helpers');
}

/** The repository root (works from test/ under tsx and from dist/test/ after tsc). */
export const REPO_ROOT = findRepoRoot();

/** The gitignored cache folder for downloads, fixtures and logs (override: IMAGE_FACTORY_TEST_CACHE). */
export const CACHE_DIR = process.env.IMAGE_FACTORY_TEST_CACHE ?? join(REPO_ROOT, '.cache');
