/** Atomic file writes: write a temp file in the target directory, fsync, then rename over the target. */
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { tempTag } from './stale-temps.js';

/**
 * A temp path beside `target` (same directory, so the final rename is atomic), named after this
 * process so a start after a crash can sweep it (`stale-temps.ts`).
 */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}${tempTag()}`);
}

/**
 * `mkdir -p` that reports the real reason: Node's recursive mkdir says ENOENT when the file system
 * is read-only (or not writable); creating the first missing level by itself gives EROFS/EACCES.
 */
export async function mkdirp(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    let missing = dir;
    while (dirname(missing) !== missing && !(await exists(dirname(missing)))) missing = dirname(missing);
    await mkdir(missing); // throws the real error
    throw e;
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Writes `data` to `target` atomically; readers see the old file or the whole new one, never a part. */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  await mkdirp(dirname(target));
  const tmp = tempPathFor(target);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
