/** Repository-relative locations for test caches (never an absolute path of one machine). */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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

/**
 * The gitignored cache folder for downloads, fixtures and logs (override: IMAGE_FACTORY_TEST_CACHE,
 * made absolute). An empty value means unset: taken literally it put `debs/` and `fixtures/` into
 * whatever directory the tests ran in.
 */
export const CACHE_DIR = resolve(process.env.IMAGE_FACTORY_TEST_CACHE || join(REPO_ROOT, '.cache'));
