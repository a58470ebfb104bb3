/**
 * Temp names that say who writes them, and the start-up sweep of those nobody writes any more.
 * Every temp file or directory in the data dir is `<name>.tmp-<owner>-<random>`, where `<owner>`
 * is the writing process's identity (`<pid>-<boot>.<start>`, see `process-lock.ts`). A process
 * killed mid-write (kill -9, OOM, power loss) leaves such a name behind; the next factory start
 * removes every one whose owner no longer runs, and leaves those of live processes (a CLI build
 * beside the service) alone.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ownDirName, ownerAlive } from './process-lock.js';

/** `.tmp-<owner>-<random>`: append to a name to make this process's temp name for it. */
export function tempTag(): string {
  return `.tmp-${ownDirName()}-${randomBytes(6).toString('hex')}`;
}

const TEMP = /\.tmp-(\d+(?:-[0-9a-f]*\.\d+)?)-[0-9a-z]+$/;

/** Whether `name` is a temp name of a process that no longer runs. */
export function isStaleTemp(name: string): boolean {
  const m = TEMP.exec(name);
  return m?.[1] !== undefined && !ownerAlive(m[1]);
}

/** Options of {@link sweepStaleTemps}. */
export interface SweepOptions {
  /** Top-level entries not to enter (e.g. `work`, swept by its own lock files). */
  readonly skip?: readonly string[];
  /** Directory levels to look into below `root` (default 5). */
  readonly maxDepth?: number;
}

/** Removes stale temp files and directories below `root`; returns their paths relative to it. */
export async function sweepStaleTemps(root: string, options: SweepOptions = {}): Promise<string[]> {
  const removed: string[] = [];
  const skip = new Set(options.skip ?? []);
  const walk = async (dir: string, rel: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (depth === 1 && skip.has(e.name)) continue;
      const path = join(dir, e.name);
      const relPath = rel === '' ? e.name : `${rel}/${e.name}`;
      if (isStaleTemp(e.name)) {
        await rm(path, { recursive: true, force: true });
        removed.push(relPath);
      } else if (e.isDirectory() && depth < (options.maxDepth ?? 5)) {
        await walk(path, relPath, depth + 1);
      }
    }
  };
  await walk(root, '', 1);
  return removed;
}
