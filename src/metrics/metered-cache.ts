/**
 * An AssetCache decorator that counts hits (delivered from cache), builds (puts), their bytes and
 * failures, labelled from the request's {@link MetricsContext}, and observes the build duration
 * from the first cache miss to the put.
 */
import type { AssetCache, CachedAsset } from '../cache/asset-cache.js';
import type { FactoryMetrics } from './metrics.js';
import { UNKNOWN_LABELS, type MetricsContext } from './request-context.js';

/** Wraps `inner` so every get/put is counted. */
export class MeteredAssetCache implements AssetCache {
  readonly #inner: AssetCache;
  readonly #m: FactoryMetrics;
  readonly #ctx: MetricsContext;

  constructor(inner: AssetCache, metrics: FactoryMetrics, context: MetricsContext) {
    this.#inner = inner;
    this.#m = metrics;
    this.#ctx = context;
  }

  /** The wrapped cache (for size statistics). */
  get inner(): AssetCache {
    return this.#inner;
  }

  /** Looks up `key`, counting a hit with its size, or noting when the miss happened. */
  async get(key: string): Promise<CachedAsset | undefined> {
    const ctx = this.#ctx.current();
    const labels = ctx?.labels ?? UNKNOWN_LABELS;
    let hit: CachedAsset | undefined;
    try {
      hit = await this.#inner.get(key);
    } catch (e) {
      this.#m.assetsCacheErrors.inc(labels);
      throw e;
    }
    if (hit) {
      this.#m.assetsDeliveredCached.inc(labels);
      this.#m.assetsCachedBytes.inc(labels, hit.size);
    } else if (ctx && ctx.missAt === undefined) {
      ctx.missAt = performance.now();
    }
    return hit;
  }

  /** Stores a built asset, counting it and observing how long it took since the miss. */
  async put(key: string, path: string): Promise<CachedAsset> {
    const ctx = this.#ctx.current();
    const labels = ctx?.labels ?? UNKNOWN_LABELS;
    let asset: CachedAsset;
    try {
      asset = await this.#inner.put(key, path);
    } catch (e) {
      this.#m.assetsCacheErrors.inc(labels);
      throw e;
    }
    this.#m.assetsBuilt.inc(labels);
    this.#m.assetsBuiltBytes.inc(labels, asset.size);
    if (ctx?.missAt !== undefined) {
      this.#m.buildDuration.observe(
        { output_kind: labels.output_kind },
        (performance.now() - ctx.missAt) / 1000,
      );
    }
    return asset;
  }
}
