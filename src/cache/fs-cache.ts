/**
 * Filesystem AssetCache (the embedded default). Content-addressed blobs under `blobs/<sha256>`,
 * one small JSON record per key under `keys/`, both written atomically (temp + rename). Blobs are
 * re-hashed the first time this process serves them and again whenever the file's identity (size,
 * mtime, ctime, inode) differs from the one that was verified (a byte changed on disk while the
 * factory runs); a mismatch deletes the entry (a miss, never corrupt bytes served). Total size is bounded: least recently used keys are evicted past maxBytes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { tempPathFor, writeFileAtomic } from '../util/atomic-file.js';
import { fileIdentity } from '../util/file-identity.js';
import { type Logger, silentLogger } from '../util/logger.js';
import type { AssetCache, CachedAsset } from './asset-cache.js';

interface KeyRecord {
  sha256: string;
  sha512: string;
  size: number;
  lastUsed: number;
}

const KEY = /^[a-f0-9]{64}$/;
const READ_CHUNK = 1 << 20;

function validRecord(r: Partial<KeyRecord>): r is KeyRecord {
  return (
    typeof r.sha256 === 'string' &&
    KEY.test(r.sha256) &&
    typeof r.sha512 === 'string' &&
    /^[a-f0-9]{128}$/.test(r.sha512) &&
    typeof r.size === 'number' &&
    Number.isSafeInteger(r.size) &&
    r.size >= 0 &&
    typeof r.lastUsed === 'number'
  );
}

/** Hashes a file with sha256 and sha512 in one read. */
export async function hashFile(path: string): Promise<{ sha256: string; sha512: string; size: number }> {
  const a = createHash('sha256');
  const b = createHash('sha512');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    a.update(buf);
    b.update(buf);
    size += buf.length;
  }
  return { sha256: a.digest('hex'), sha512: b.digest('hex'), size };
}

/** Options of {@link FsAssetCache}. */
export interface FsAssetCacheOptions {
  dir: string;
  maxBytes: number;
  /** Entries used this recently are never evicted (default 60 s). */
  evictionGraceMs?: number;
  log?: Logger;
  now?: () => number;
}

/** A size-bounded, verified, content-addressed asset cache on local disk. */
export class FsAssetCache implements AssetCache {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #graceMs: number;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #index = new Map<string, KeyRecord>();
  /** Keys per blob (identical assets share one blob) and the bytes of referenced blobs. */
  readonly #blobRefs = new Map<string, number>();
  #bytes = 0;
  /** sha256 → identity of the blob file when its bytes were last verified. */
  readonly #verified = new Map<string, string>();
  #loaded: Promise<void> | undefined;

  constructor(options: FsAssetCacheOptions) {
    this.#dir = options.dir;
    this.#maxBytes = options.maxBytes;
    this.#graceMs = options.evictionGraceMs ?? 60_000;
    this.#log = options.log ?? silentLogger;
    this.#now = options.now ?? Date.now;
  }

  #blobPath(sha256: string): string {
    return join(this.#dir, 'blobs', sha256);
  }

  #keyPath(key: string): string {
    return join(this.#dir, 'keys', key.slice(0, 2), `${key}.json`);
  }

  /** Loads the key index from disk once (survives restarts). */
  #load(): Promise<void> {
    this.#loaded ??= (async () => {
      const root = join(this.#dir, 'keys');
      for (const shard of await readdir(root).catch(() => [] as string[])) {
        for (const file of await readdir(join(root, shard)).catch(() => [] as string[])) {
          const key = file.replace(/\.json$/, '');
          if (!KEY.test(key)) continue;
          try {
            const rec = JSON.parse(await readFile(join(root, shard, file), 'utf8')) as Partial<KeyRecord>;
            // Records are joined into paths: accept only well-formed ones.
            if (!validRecord(rec)) throw new Error('malformed record');
            this.#setRecord(key, rec);
          } catch {
            await rm(join(root, shard, file), { force: true });
          }
        }
      }
    })();
    return this.#loaded;
  }

  /** Total bytes of distinct blobs referenced by keys. */
  get usedBytes(): number {
    return this.#bytes;
  }

  /** Keys in the index (cached assets). */
  get entries(): number {
    return this.#index.size;
  }

  /** Adds or replaces a key record, keeping blob reference counts and the byte total. */
  #setRecord(key: string, rec: KeyRecord): void {
    this.#deleteRecord(key);
    this.#index.set(key, rec);
    const refs = this.#blobRefs.get(rec.sha256) ?? 0;
    if (refs === 0) this.#bytes += rec.size;
    this.#blobRefs.set(rec.sha256, refs + 1);
  }

  /** Removes a key record; true when its blob is no longer referenced by any key. */
  #deleteRecord(key: string): boolean {
    const rec = this.#index.get(key);
    if (!rec) return false;
    this.#index.delete(key);
    const refs = (this.#blobRefs.get(rec.sha256) ?? 1) - 1;
    if (refs > 0) {
      this.#blobRefs.set(rec.sha256, refs);
      return false;
    }
    this.#blobRefs.delete(rec.sha256);
    this.#bytes -= rec.size;
    return true;
  }

  #asset(key: string, rec: KeyRecord): CachedAsset {
    const path = this.#blobPath(rec.sha256);
    return {
      key,
      size: rec.size,
      sha256: rec.sha256,
      sha512: rec.sha512,
      // 1 MiB reads: the default 64 KiB chunks double the CPU per byte served (bench/download);
      // but never a buffer larger than what is read (a 1 MiB allocation per small asset is GC work).
      open: async (range?: { start: number; end: number }): Promise<Readable> =>
        createReadStream(path, {
          highWaterMark: Math.max(1, Math.min(READ_CHUNK, range ? range.end - range.start + 1 : rec.size)),
          ...(range ? { start: range.start, end: range.end } : {}),
        }),
      // Verified by the `get` that returned this asset (identity checked, re-hashed if changed).
      localFile: () => Promise.resolve({ path, offset: 0 }),
    };
  }

  async #drop(key: string, rec: KeyRecord, why: string): Promise<void> {
    this.#log.error({ key, sha256: rec.sha256, why }, 'cached asset failed verification; dropping it');
    const unreferenced = this.#deleteRecord(key);
    await rm(this.#keyPath(key), { force: true });
    if (unreferenced) await rm(this.#blobPath(rec.sha256), { force: true });
    this.#verified.delete(rec.sha256);
  }

  async get(key: string): Promise<CachedAsset | undefined> {
    if (!KEY.test(key)) return undefined;
    await this.#load();
    const rec = this.#index.get(key);
    if (!rec) return undefined;
    const st = await stat(this.#blobPath(rec.sha256)).catch(() => undefined);
    if (!st || st.size !== rec.size) {
      await this.#drop(key, rec, st ? `size ${st.size} ≠ ${rec.size}` : 'blob missing');
      return undefined;
    }
    if (this.#verified.get(rec.sha256) !== fileIdentity(st)) {
      const actual = await hashFile(this.#blobPath(rec.sha256));
      // Both sums are served (ETag and .sha256, .sha512): both must match the bytes.
      if (actual.sha256 !== rec.sha256 || actual.sha512 !== rec.sha512) {
        await this.#drop(key, rec, `sha256 ${actual.sha256}`);
        return undefined;
      }
      this.#verified.set(rec.sha256, fileIdentity(st));
    }
    rec.lastUsed = this.#now();
    return this.#asset(key, rec);
  }

  async invalidate(key: string): Promise<void> {
    if (!KEY.test(key)) return;
    await this.#load();
    const rec = this.#index.get(key);
    if (!rec) return;
    await this.#drop(key, rec, 'a reader found bytes not matching the record');
    // The bytes are bad for every key that shares them.
    await rm(this.#blobPath(rec.sha256), { force: true });
  }

  async put(key: string, path: string): Promise<CachedAsset> {
    if (!KEY.test(key)) throw new Error(`invalid asset cache key ${JSON.stringify(key)}`);
    await this.#load();
    const sums = await hashFile(path);
    const blob = this.#blobPath(sums.sha256);
    await mkdir(join(this.#dir, 'blobs'), { recursive: true });
    let wrote = false;
    if (!(await stat(blob).catch(() => undefined))) {
      wrote = true;
      const tmp = tempPathFor(blob);
      try {
        await rename(path, tmp).catch(async () => copyFile(path, tmp));
        await rename(tmp, blob);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
    }
    // Bytes just hashed and moved into place are verified; a blob that was already there (another
    // key with the same content) is verified on its next read, like any blob from an earlier run.
    if (wrote) this.#verified.set(sums.sha256, fileIdentity(await stat(blob)));
    const rec: KeyRecord = { ...sums, lastUsed: this.#now() };
    await writeFileAtomic(this.#keyPath(key), JSON.stringify(rec));
    this.#setRecord(key, rec);
    await this.#evict(key);
    return this.#asset(key, rec);
  }

  /** Evicts least recently used keys (never `keep`) until the cache fits in maxBytes. */
  async #evict(keep: string): Promise<void> {
    if (this.usedBytes <= this.#maxBytes) return;
    // Entries handed out within the grace period may be about to be streamed: they are not evicted
    // now (the cache may briefly exceed its bound rather than cut a download short).
    const recent = this.#now() - this.#graceMs;
    const order = [...this.#index.entries()]
      .filter(([k, r]) => k !== keep && r.lastUsed < recent)
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, rec] of order) {
      if (this.usedBytes <= this.#maxBytes) break;
      const unreferenced = this.#deleteRecord(key);
      await rm(this.#keyPath(key), { force: true });
      if (unreferenced) {
        await rm(this.#blobPath(rec.sha256), { force: true });
        this.#verified.delete(rec.sha256);
      }
      this.#log.info({ key, size: rec.size }, 'evicted cached asset');
    }
  }
}
