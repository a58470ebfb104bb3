/**
 * Cache plumbing for fixture builds: the key (a hash of the builder's own source plus its inputs),
 * a cross-process lock so concurrent test files build a set once, and copying a cached set into a
 * caller's directory (blobs hard-linked, since they are immutable and content-addressed).
 */
import { copyFile, link, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { FactoryError } from '../errors.js';
import { sha256Hex } from './hash.js';
import { DEMO_SOURCE_DIR } from './package-root.js';

// Always the TypeScript sources in the repository, also when running compiled from dist/: the key
// must not depend on how the builder was started.
const FIXTURES_DIR = DEMO_SOURCE_DIR;

/** Builder files that only describe a built set: editing them must not trigger a rebuild. */
const NOT_OUTPUT_AFFECTING = new Set(['manifest.ts', 'package-root.ts']);

/** Files whose content defines what the builder produces. */
async function builderSources(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && !NOT_OUTPUT_AFFECTING.has(e.name) && !e.name.endsWith('.md')) out.push(p);
    }
  };
  await walk(FIXTURES_DIR);
  return out;
}

/** Cache key: sha256 over the builder's source files and the JSON of its inputs (first 20 hex chars). */
export async function fixtureCacheKey(inputs: unknown): Promise<string> {
  const parts: string[] = [];
  for (const f of await builderSources()) {
    parts.push(`${path.relative(FIXTURES_DIR, f)}\0${sha256Hex(await readFile(f))}`);
  }
  parts.push(JSON.stringify(inputs));
  return sha256Hex(parts.join('\n')).slice(0, 20);
}

/** True while process `pid` exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` holding a lock directory `lockDir` (mkdir is atomic). A lock whose owner pid is gone is
 * taken over; waiting gives up after `timeoutMs` with an error naming the lock.
 */
export async function withLock<T>(
  lockDir: string,
  fn: () => Promise<T>,
  timeoutMs = 20 * 60_000,
): Promise<T> {
  await mkdir(path.dirname(lockDir), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(await readFile(path.join(lockDir, 'pid'), 'utf8').catch(() => 'NaN'));
      if (Number.isInteger(pid) && !alive(pid)) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new FactoryError('BUILD_TIMEOUT', `fixture cache lock ${lockDir} still held by pid ${pid}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

/**
 * Copies the tree `src` into `dest` (created; existing files replaced). Files under a `blobs/` dir
 * are hard-linked (immutable, often large); everything else — index.json, manifests — is copied so
 * a caller that adds tags to its copy cannot corrupt the cache.
 */
export async function copyTree(src: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  for (const e of await readdir(src, { withFileTypes: true })) {
    const s = path.join(src, e.name);
    const d = path.join(dest, e.name);
    if (e.isDirectory()) {
      await copyTree(s, d);
    } else if (e.isFile()) {
      if (existsSync(d)) await rm(d, { force: true });
      if (s.split(path.sep).includes('blobs')) await link(s, d).catch(() => copyFile(s, d));
      else await copyFile(s, d);
    }
  }
}

/** Total size in bytes of the regular files below `dir`. */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await treeBytes(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}

/** Marks a cache entry as just used (its marker file's mtime orders entries for {@link pruneCache}). */
export async function touchEntry(markerFile: string): Promise<void> {
  const now = new Date();
  await utimes(markerFile, now, now).catch(() => undefined);
}

/**
 * Deletes all but the `keep` most recently used entries (`<root>/<20 hex>/`, ordered by the mtime
 * of `markerName` inside), so edits to the builder do not pile up 150 MB sets. `except` is never deleted.
 */
export async function pruneCache(
  root: string,
  markerName: string,
  keep: number,
  except: string,
): Promise<void> {
  const entries: { dir: string; used: number }[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{20}$/.test(name) || name === except) continue;
    const st = await stat(path.join(root, name, markerName)).catch(() => undefined);
    entries.push({ dir: path.join(root, name), used: st?.mtimeMs ?? 0 });
  }
  entries.sort((a, b) => b.used - a.used);
  for (const e of entries.slice(Math.max(0, keep - 1))) await rm(e.dir, { recursive: true, force: true });
}
