/**
 * An AssetCache decorator for metrics: remembers when a key missed, and tags each asset it stores
 * with how long that took (miss → stored: queue wait and build), so {@link MeteredAssetService}
 * can tell a fresh build from a cache hit and label both. Failed cache operations are counted here.
 */
import type { AssetCache, CachedAsset } from '../cache/asset-cache.js';
import type { FactoryMetrics } from './metrics.js';

/** Misses remembered at most (a build that fails never stores; its entry ages out). */
const MAX_PENDING = 10_000;

/** Wraps `inner`, tagging the assets it builds. */
export class MeteredAssetCache implements AssetCache {
  readonly #inner: AssetCache;
  readonly #m: FactoryMetrics;
  /** Key → when it first missed (performance.now ms), until stored. */
  readonly #missedAt = new Map<string, number>();
  /** Assets stored by this process → build seconds; taken once by the first requester. */
  readonly #built = new WeakMap<CachedAsset, number>();
  readonly #claimed = new WeakSet<CachedAsset>();

  constructor(inner: AssetCache, metrics: FactoryMetrics) {
    this.#inner = inner;
    this.#m = metrics;
  }

  /** Looks up `key`, remembering the time of a miss. */
  async get(key: string): Promise<CachedAsset | undefined> {
    let hit: CachedAsset | undefined;
    try {
      hit = await this.#inner.get(key);
    } catch (e) {
      this.#m.assetCacheErrors.inc({ operation: 'get' });
      throw e;
    }
    if (!hit && !this.#missedAt.has(key)) {
      this.#missedAt.set(key, performance.now());
      if (this.#missedAt.size > MAX_PENDING)
        this.#missedAt.delete(this.#missedAt.keys().next().value as string);
    }
    return hit;
  }

  /** Stores a built asset and tags it with its build time. */
  async put(key: string, path: string): Promise<CachedAsset> {
    let asset: CachedAsset;
    try {
      asset = await this.#inner.put(key, path);
    } catch (e) {
      this.#m.assetCacheErrors.inc({ operation: 'put' });
      throw e;
    }
    const missed = this.#missedAt.get(key);
    this.#missedAt.delete(key);
    this.#built.set(asset, missed === undefined ? 0 : (performance.now() - missed) / 1000);
    return asset;
  }

  /**
   * How a requester got `asset`: `built` for the first requester of a build this process just
   * made (with its seconds), `joined` for the others that waited for the same build, `cached` for
   * a cache hit.
   */
  origin(asset: CachedAsset): { kind: 'built'; seconds: number } | { kind: 'joined' | 'cached' } {
    const seconds = this.#built.get(asset);
    if (seconds === undefined) return { kind: this.#claimed.has(asset) ? 'joined' : 'cached' };
    this.#built.delete(asset);
    this.#claimed.add(asset);
    return { kind: 'built', seconds };
  }
}
