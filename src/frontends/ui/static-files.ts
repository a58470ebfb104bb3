/**
 * The UI's static files (stylesheet, script, icon), read once at start-up from
 * `src/frontends/ui/static/` and served from memory. Links carry the content hash (`?v=…`), so a
 * matching request is cached for a year (`immutable`); anything else revalidates via the ETag.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One static file in memory. */
export interface StaticFile {
  readonly name: string;
  readonly type: string;
  readonly body: Buffer;
  /** First 16 hex digits of the sha256: the cache-busting version and the ETag. */
  readonly hash: string;
}

const TYPES: Readonly<Record<string, string>> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The files served, by name. */
export const STATIC_NAMES = ['wizard.css', 'wizard.js', 'favicon.svg'] as const;

/**
 * The static folder: beside this module when run from `src/` (tsx), or the source tree's when run
 * from the compiled `dist/src/…` (tsc does not copy non-TypeScript files).
 */
export function staticDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'static'), resolve(here, '../../../../src/frontends/ui/static')];
  const found = candidates.find((d) => existsSync(join(d, STATIC_NAMES[0])));
  if (!found) throw new Error(`UI static files not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Loads every static file. */
export function loadStaticFiles(dir: string = staticDir()): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of STATIC_NAMES) {
    const body = readFileSync(join(dir, name));
    const ext = name.slice(name.lastIndexOf('.'));
    files.set(name, {
      name,
      type: TYPES[ext] ?? 'application/octet-stream',
      body,
      hash: createHash('sha256').update(body).digest('hex').slice(0, 16),
    });
  }
  return files;
}

/** The relative href of a static file, with its content hash. */
export function staticHref(file: StaticFile): string {
  return `ui/static/${file.name}?v=${file.hash}`;
}
