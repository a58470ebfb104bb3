/**
 * Size bound for the release caches on local disk (downloaded blobs, extracted inputs): entries
 * are files or directories under known roots, used-at times are kept in memory (entries found on
 * disk at start count as used then), and the least recently used are removed past `maxBytes`.
 * Entries used within the grace period are never removed: a build may be reading them.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Where entries live: each file (or each directory at `depth`) below `dir` is one entry. */
export interface LruRoot {
  dir: string;
  /** 1: direct children are entries; 2: grandchildren (e.g. `<digest>/<arch>`). */
  depth: 1 | 2;
}

interface Entry {
  size: number;
  lastUsed: number;
}

async function sizeOf(path: string): Promise<number> {
  const st = await stat(path).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[])) total += await sizeOf(join(path, name));
  return total;
}

async function children(dir: string, depth: number): Promise<string[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
  const paths = names.map((n) => join(dir, n));
  if (depth <= 1) return paths;
  const nested = await Promise.all(paths.map((p) => children(p, depth - 1)));
  return nested.flat();
}

/** An LRU size bound over cache entries on disk. */
export class DiskLru {
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  #loaded: Promise<void> | undefined;

  constructor(
    readonly roots: readonly LruRoot[],
    readonly maxBytes: number,
    readonly graceMs: number,
    readonly now: () => number = Date.now,
  ) {}

  #load(): Promise<void> {
    this.#loaded ??= (async () => {
      const at = this.now();
      for (const root of this.roots) {
        for (const path of await children(root.dir, root.depth)) {
          if (!this.#entries.has(path)) this.#set(path, { size: await sizeOf(path), lastUsed: at });
        }
      }
    })();
    return this.#loaded;
  }

  /** Total bytes of the known entries. */
  get usedBytes(): number {
    return this.#bytes;
  }

  #set(path: string, entry: Entry): void {
    this.#bytes += entry.size - (this.#entries.get(path)?.size ?? 0);
    this.#entries.set(path, entry);
  }

  /** Records a use of `path` (its size measured when new or when `size` is given). */
  async touch(path: string, size?: number): Promise<void> {
    await this.#load();
    const e = this.#entries.get(path);
    if (e && size === undefined) e.lastUsed = this.now();
    else this.#set(path, { size: size ?? (await sizeOf(path)), lastUsed: this.now() });
  }

  /** Removes least recently used entries (outside the grace period) until the total fits. */
  async evict(onEvict: (path: string) => void = () => undefined): Promise<string[]> {
    await this.#load();
    const removed: string[] = [];
    if (this.usedBytes <= this.maxBytes) return removed;
    const cutoff = this.now() - this.graceMs;
    const candidates = [...this.#entries.entries()]
      .filter(([, e]) => e.lastUsed < cutoff)
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [path, entry] of candidates) {
      if (this.usedBytes <= this.maxBytes) break;
      this.#entries.delete(path);
      this.#bytes -= entry.size;
      onEvict(path);
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    }
    return removed;
  }
}
