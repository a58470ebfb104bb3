/**
 * A per-process, size-bounded directory of verified local copies of registry-cached assets, named by
 * sha256. It saves re-downloading an asset for every read and makes byte ranges cheap seeks; the
 * registry stays the source of truth, so anything here may vanish (evicted, deleted) and readers
 * then fall back to the registry. Least recently used copies are removed past `maxBytes`.
 *
 * The directory belongs to one cache instance: it is emptied of earlier contents on first use,
 * because copies left by another process were not verified by this one.
 */
import { createWriteStream } from 'node:fs';
import { copyFile, type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { InclusiveRange } from './byte-range.js';
import { tempPathFor } from '../util/atomic-file.js';
import { fileIdentity } from '../util/file-identity.js';
import { type Logger, silentLogger } from '../util/logger.js';

const COPY = /^[a-f0-9]{64}\.blob$/;
const PART = /^\.[a-f0-9]{64}\.blob\.tmp-/;

/** An in-progress copy: write chunks, then `commit` (keeps it) or `abort` (discards it). */
export interface SpoolWriter {
  write(chunk: Buffer): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** Verified local copies of assets, bounded in total size. */
export class Spool {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #log: Logger;
  /** sha256 → size, in least-recently-used-first order. */
  readonly #held = new Map<string, number>();
  #bytes = 0;
  /** sha256 → identity of the copy's file when it was taken in (verified). */
  readonly #identities = new Map<string, string>();
  #ready: Promise<void> | undefined;

  constructor(dir: string, maxBytes: number, log: Logger = silentLogger) {
    this.#dir = dir;
    this.#maxBytes = maxBytes;
    this.#log = log;
  }

  /** Bytes currently held. */
  get usedBytes(): number {
    return this.#bytes;
  }

  /** True when an asset of `size` bytes may be kept at all. */
  fits(size: number): boolean {
    return size <= this.#maxBytes;
  }

  #path(sha256: string): string {
    return join(this.#dir, `${sha256}.blob`);
  }

  #prepare(): Promise<void> {
    this.#ready ??= (async () => {
      await mkdir(this.#dir, { recursive: true });
      for (const name of await readdir(this.#dir)) {
        if (COPY.test(name) || PART.test(name)) await rm(join(this.#dir, name), { force: true });
      }
    })();
    return this.#ready;
  }

  /** Opens the held copy of `sha256` (optionally a range), or undefined when none is held. */
  async open(sha256: string, range?: InclusiveRange): Promise<Readable | undefined> {
    const size = this.#held.get(sha256);
    if (size === undefined) return undefined;
    let handle: FileHandle;
    try {
      handle = await open(this.#path(sha256), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      this.#forget(sha256);
      return undefined;
    }
    // A copy changed on disk since it was verified (a flipped byte, a replaced file) is dropped:
    // the registry, which verifies, serves it instead.
    const st = await handle.stat();
    if (fileIdentity(st) !== this.#identities.get(sha256)) {
      await handle.close();
      this.#log.error({ sha256 }, 'local copy of cached asset changed on disk; dropping it');
      this.#forget(sha256);
      await rm(this.#path(sha256), { force: true });
      return undefined;
    }
    this.#held.delete(sha256);
    this.#held.set(sha256, size);
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  /**
   * The path of the held copy of `sha256` when it is still the verified file (same identity), or
   * undefined; like `open`, a copy changed on disk is dropped.
   */
  async localPath(sha256: string): Promise<string | undefined> {
    if (!this.#held.has(sha256)) return undefined;
    const path = this.#path(sha256);
    const st = await stat(path).catch(() => undefined);
    if (st && fileIdentity(st) === this.#identities.get(sha256)) {
      this.#held.delete(sha256);
      this.#held.set(sha256, st.size);
      return path;
    }
    if (st) this.#log.error({ sha256 }, 'local copy of cached asset changed on disk; dropping it');
    this.#forget(sha256);
    if (st) await rm(path, { force: true });
    return undefined;
  }

  /** Takes a verified file into the spool (renamed when possible, copied otherwise). */
  async adopt(sha256: string, size: number, path: string): Promise<void> {
    if (!this.fits(size) || this.#held.has(sha256)) return;
    await this.#prepare();
    const temp = this.#tempPath(sha256);
    try {
      await rename(path, temp).catch(() => copyFile(path, temp));
      await rename(temp, this.#path(sha256));
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    await this.#keep(sha256, size);
  }

  /** Starts a copy of `sha256` written chunk by chunk; the caller commits only verified content. */
  async writer(sha256: string, size: number): Promise<SpoolWriter> {
    await this.#prepare();
    const temp = this.#tempPath(sha256);
    const out = createWriteStream(temp, { flags: 'wx' });
    const done = finished(out);
    done.catch(() => undefined);
    return {
      write: (chunk) =>
        new Promise<void>((resolve, reject) => {
          out.write(chunk, (e) => (e ? reject(e) : resolve()));
        }),
      commit: async () => {
        out.end();
        await done;
        await rename(temp, this.#path(sha256));
        await this.#keep(sha256, size);
      },
      abort: async () => {
        out.destroy();
        await done.catch(() => undefined);
        await rm(temp, { force: true });
      },
    };
  }

  /** Removes the copy of `sha256` (it may be corrupt); readers fall back to the registry. */
  async drop(sha256: string): Promise<void> {
    if (!this.#held.has(sha256)) return;
    this.#forget(sha256);
    await rm(this.#path(sha256), { force: true });
  }

  #tempPath(sha256: string): string {
    return tempPathFor(this.#path(sha256));
  }

  #forget(sha256: string): void {
    const size = this.#held.get(sha256);
    if (size === undefined) return;
    this.#held.delete(sha256);
    this.#identities.delete(sha256);
    this.#bytes -= size;
  }

  async #keep(sha256: string, size: number): Promise<void> {
    this.#forget(sha256);
    this.#identities.set(sha256, fileIdentity(await stat(this.#path(sha256))));
    this.#held.set(sha256, size);
    this.#bytes += size;
    // Open readers keep their file descriptor, so removing a copy never cuts a response short.
    for (const [victim, victimSize] of this.#held) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#forget(victim);
      await rm(this.#path(victim), { force: true });
      this.#log.debug({ sha256: victim, size: victimSize }, 'dropped local copy of cached asset');
    }
  }
}
