/** Fixed file times for staged trees (tools that record times then write the same bytes). */
import { lstat, lutimes, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Sets atime and mtime of everything below (and including) `dir` to `epoch`, links not followed. */
export async function touchTree(dir: string, epoch: number): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await touchTree(p, epoch);
    await lutimes(p, epoch, epoch);
  }
  if ((await lstat(dir)).isDirectory()) await lutimes(dir, epoch, epoch);
}
