/**
 * The asset cache interface. A cached asset is immutable and content-addressed: its key hashes the
 * normalized build request, the input digests and the builder's version; its bytes carry their
 * sha256 so readers verify what they serve. Implementations run `test/contract/asset-cache.contract.ts`.
 */
import type { Readable } from 'node:stream';

/** Where an asset's bytes sit as one local file: its path, and where the bytes start in it. */
export interface LocalFile {
  readonly path: string;
  /** Byte offset of the asset's first byte in the file (0 unless the asset is part of a larger file). */
  readonly offset: number;
}

/** A finished, cached asset. */
export interface CachedAsset {
  readonly key: string;
  readonly size: number;
  /** Lowercase hex sha256 of the bytes (also the HTTP ETag). */
  readonly sha256: string;
  /** Lowercase hex sha512 of the bytes (served as `<path>.sha512`). */
  readonly sha512: string;
  /** Opens the bytes, optionally a byte range [start, end] inclusive. */
  open(range?: { start: number; end: number }): Promise<Readable>;
  /**
   * The verified local file holding the bytes, when there is one: delivery then reads it with
   * reused buffers, or hands it to a front proxy (`http.accelRedirect`). Undefined: use `open`.
   */
  localFile?(): Promise<LocalFile | undefined>;
}

/** Get/put of built assets by key. */
export interface AssetCache {
  /** The asset for `key`, or undefined (absent, or failed verification — treated as a miss). */
  get(key: string): Promise<CachedAsset | undefined>;
  /** Stores the file at `path` under `key` (the file may be moved) and returns the cached asset. */
  put(key: string, path: string): Promise<CachedAsset>;
  /**
   * A reader found the bytes of `key` not matching its sha256: forget whatever this process
   * verified about it, so the next `get` checks again (and misses when the stored bytes are bad).
   */
  invalidate?(key: string): Promise<void>;
}
