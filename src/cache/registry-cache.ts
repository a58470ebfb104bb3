/**
 * OCI-registry AssetCache (spec §6.1): each asset is an image tagged `<key>` with the empty config
 * and one `application/data` layer holding the raw bytes (sha512 in a layer annotation), so every
 * replica sharing the repository shares the cache.
 *
 * Verification: the client checks a blob's digest while streaming and fails only at the end, and a
 * byte range cannot be checked at all. So the first `get` of an asset in this process reads the
 * whole blob and checks size, sha256 and sha512 before reporting a hit; a mismatch is a logged miss.
 * The verified bytes are kept in a bounded local spool, which then serves `open()` and ranges. When
 * the copy is gone (evicted, or too big for the spool), `open()` streams from the registry: a whole
 * read is verified again and errors at its end on a mismatch; a range is cut from the blob stream
 * in-process and is trusted on the strength of the earlier whole-blob check (a range reaching the
 * last byte still reads through the verifying stream and fails on a mismatch).
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { FactoryError, isFactoryError } from '../errors.js';
import {
  DEFAULT_CHUNK_SIZE,
  EMPTY_CONFIG_DESCRIPTOR,
  EMPTY_JSON,
  type FetchedManifest,
  type ManifestDocument,
  type OciClient,
  parseManifest,
  type RepoInput,
  type RepositoryRef,
  toRepository,
} from '../oci/index.js';
import { type Logger, silentLogger } from '../util/logger.js';
import { SingleFlight } from '../util/single-flight.js';
import type { AssetCache, CachedAsset } from './asset-cache.js';
import { type AssetEntry, buildAssetManifest, readAssetEntry } from './asset-layout.js';
import { assertRange, type InclusiveRange, sliceStream } from './byte-range.js';
import { hashFile } from './fs-cache.js';
import { Spool } from './spool.js';

/** Default bound of the local spool of verified copies: 1 GiB. */
export const DEFAULT_SPOOL_MAX_BYTES = 1 << 30;

const KEY = /^[a-f0-9]{64}$/;

/** Options of {@link RegistryAssetCache}. */
export interface RegistryAssetCacheOptions {
  readonly client: OciClient;
  /** Repository holding the cache, e.g. `ghcr.io/siderolabs/image-factory/cache`. */
  readonly repository: RepoInput;
  /** Directory for verified local copies; owned by this instance (emptied on first use). */
  readonly spoolDir: string;
  /** Bound of the local copies (default {@link DEFAULT_SPOOL_MAX_BYTES}); 0 keeps none. */
  readonly spoolMaxBytes?: number;
  /** Assets of at least this many bytes are uploaded in chunks (default 8 MiB). */
  readonly chunkThreshold?: number;
  /** Chunk size of chunked uploads (default: the client's). */
  readonly chunkSize?: number;
  readonly log?: Logger;
}

/** What one verification checks: the same blob may be described differently by two entries. */
function verificationId(entry: AssetEntry): string {
  return `${entry.sha256}:${entry.sha512}:${entry.size}`;
}

/** An AssetCache shared through an OCI registry, with verified local copies. */
export class RegistryAssetCache implements AssetCache {
  readonly #client: OciClient;
  readonly #repo: RepositoryRef;
  readonly #spool: Spool;
  readonly #log: Logger;
  readonly #chunkThreshold: number;
  readonly #chunkSize: number | undefined;
  /** Entries whose blob this process has read whole and found matching. */
  readonly #verified = new Set<string>();
  readonly #verifying = new SingleFlight<string, boolean>();

  constructor(options: RegistryAssetCacheOptions) {
    this.#client = options.client;
    this.#repo = toRepository(options.repository);
    this.#log = options.log ?? silentLogger;
    this.#spool = new Spool(options.spoolDir, options.spoolMaxBytes ?? DEFAULT_SPOOL_MAX_BYTES, this.#log);
    this.#chunkThreshold = options.chunkThreshold ?? DEFAULT_CHUNK_SIZE;
    this.#chunkSize = options.chunkSize;
  }

  /** Bytes held in the local spool (for metrics and tests). */
  get spoolBytes(): number {
    return this.#spool.usedBytes;
  }

  #where(ref: string): string {
    return `${this.#repo.registry}/${this.#repo.repository}${ref}`;
  }

  async get(key: string): Promise<CachedAsset | undefined> {
    if (!KEY.test(key)) return undefined;
    const doc = await this.#manifest(key);
    if (doc === undefined) return undefined;
    const entry = readAssetEntry(doc);
    if ('invalid' in entry) {
      this.#log.warn(
        { key, entry: this.#where(`:${key}`), why: entry.invalid },
        'cache entry manifest unusable; treating as a miss',
      );
      return undefined;
    }
    const id = verificationId(entry);
    if (!this.#verified.has(id)) {
      const ok = await this.#verifying.do(id, () => this.#verify(key, entry, true));
      if (!ok) return undefined;
    }
    return this.#asset(key, entry);
  }

  /** The entry's manifest, or undefined when the tag is absent or holds something unparsable. */
  async #manifest(key: string): Promise<ManifestDocument | undefined> {
    let fetched: FetchedManifest;
    try {
      fetched = await this.#client.getManifest(this.#repo, key);
    } catch (e) {
      if (isFactoryError(e, 'NOT_FOUND')) return undefined;
      throw e;
    }
    try {
      return parseManifest(fetched.bytes, fetched.mediaType, `cache entry ${this.#where(`:${key}`)}`);
    } catch (e) {
      if (!isFactoryError(e)) throw e;
      this.#log.warn({ key, err: e.message }, 'cache entry manifest unusable; treating as a miss');
      return undefined;
    }
  }

  /**
   * Reads the whole blob, checking size, sha256 (by the client) and sha512; with `keep`, the bytes
   * go to the spool as they pass and stay there only if everything matched. False = do not serve.
   */
  async #verify(key: string, entry: AssetEntry, keep: boolean): Promise<boolean> {
    const blob = this.#where(`@${entry.digest}`);
    const bad = (why: string): false => {
      this.#log.error({ key, blob, why }, 'cached asset failed verification; treating as a miss');
      return false;
    };
    const stat = await this.#client.statBlob(this.#repo, entry.digest);
    if (!stat) return bad('blob missing from the registry');
    if (stat.size !== entry.size)
      return bad(`registry reports ${stat.size} bytes, manifest says ${entry.size}`);
    const writer =
      keep && this.#spool.fits(entry.size) ? await this.#spool.writer(entry.sha256, entry.size) : undefined;
    const sha512 = createHash('sha512');
    try {
      const stream = await this.#client.getBlob(this.#repo, entry.digest, { size: entry.size });
      for await (const chunk of stream) {
        sha512.update(chunk as Buffer);
        await writer?.write(chunk as Buffer);
      }
    } catch (e) {
      await writer?.abort();
      if (isFactoryError(e, 'DIGEST_MISMATCH')) return bad(e.message);
      if (isFactoryError(e, 'NOT_FOUND')) return bad('blob missing from the registry');
      throw e;
    }
    const actual = sha512.digest('hex');
    if (actual !== entry.sha512) {
      await writer?.abort();
      return bad(`sha512 is ${actual}, annotation says ${entry.sha512}`);
    }
    await writer?.commit();
    this.#verified.add(verificationId(entry));
    return true;
  }

  #asset(key: string, entry: AssetEntry): CachedAsset {
    const what = `cached asset ${key}`;
    return {
      key,
      size: entry.size,
      sha256: entry.sha256,
      sha512: entry.sha512,
      open: async (range?: InclusiveRange): Promise<Readable> => {
        if (range) assertRange(range, entry.size, what);
        const local = await this.#spool.open(entry.sha256, range);
        if (local) return local;
        const stream = await this.#client.getBlob(this.#repo, entry.digest, { size: entry.size });
        return range ? sliceStream(stream, range, entry.size, what) : stream;
      },
      localFile: async () => {
        const path = await this.#spool.localPath(entry.sha256);
        return path === undefined ? undefined : { path, offset: 0 };
      },
    };
  }

  async invalidate(key: string): Promise<void> {
    if (!KEY.test(key)) return;
    const doc = await this.#manifest(key);
    const entry = doc === undefined ? undefined : readAssetEntry(doc);
    if (entry === undefined || 'invalid' in entry) return;
    this.#log.error(
      { key, entry: this.#where(`:${key}`) },
      "cached asset failed a reader's verification; checking it again",
    );
    this.#verified.delete(verificationId(entry));
    await this.#spool.drop(entry.sha256);
  }

  async put(key: string, path: string): Promise<CachedAsset> {
    if (!KEY.test(key))
      throw new FactoryError('INTERNAL', `asset cache put: invalid cache key ${JSON.stringify(key)}`);
    const sums = await hashFile(path);
    const entry: AssetEntry = { digest: `sha256:${sums.sha256}`, ...sums };
    const pushed = await this.#client.pushBlob(
      this.#repo,
      { path },
      {
        digest: entry.digest,
        chunked: sums.size >= this.#chunkThreshold,
        ...(this.#chunkSize === undefined ? {} : { chunkSize: this.#chunkSize }),
      },
    );
    const id = verificationId(entry);
    // A blob that was already there may be a corrupt copy (perhaps why this asset is being rebuilt),
    // and the registry will not let us replace it: check it rather than tag it as good.
    if (pushed.outcome !== 'uploaded' && !this.#verified.has(id)) {
      const ok = await this.#verifying.do(id, () => this.#verify(key, entry, false));
      if (!ok) {
        throw new FactoryError(
          'DIGEST_MISMATCH',
          `asset cache put: registry blob ${this.#where(`@${entry.digest}`)} holds corrupt bytes, and a registry never overwrites an existing blob; remove the blob's data on the registry, then retry`,
        );
      }
    }
    // The registry checked the digest of what was uploaded.
    this.#verified.add(id);
    await this.#client.pushBlob(this.#repo, EMPTY_JSON, { digest: EMPTY_CONFIG_DESCRIPTOR.digest });
    const manifest = buildAssetManifest(sums);
    await this.#client.pushManifest(this.#repo, key, manifest.bytes, manifest.mediaType);
    await this.#spool.adopt(entry.sha256, entry.size, path).catch((e: unknown) => {
      // Only a local speed-up: reads fall back to the registry.
      this.#log.warn(
        { key, err: e instanceof Error ? e.message : String(e) },
        'could not keep a local copy of cached asset',
      );
    });
    return this.#asset(key, entry);
  }
}
