/**
 * The AssetService with metrics: every asset handed out is counted as built (with its bytes and
 * build duration) or delivered from the cache, labelled with upstream's talos_version /
 * output_kind / arch, and counts a hit for each official extension it carries. The labels come
 * from the call's own arguments, so nothing is threaded through the pipeline (and no async
 * context is needed on the request path).
 */
import { AssetService, type AssetServiceDeps, type PlannedAsset } from '../assets/asset-service.js';
import type { CachedAsset } from '../cache/asset-cache.js';
import type { MeteredAssetCache } from './metered-cache.js';
import type { FactoryMetrics } from './metrics.js';

/** Kinds that carry no system extensions (their deliveries are not extension hits). */
const WITHOUT_EXTENSIONS = new Set<string>(['kernel', 'cmdline']);

/** AssetService whose `realize` (every asset handed out; dependencies are not deliveries) feeds the metrics. */
export class MeteredAssetService extends AssetService {
  readonly #m: FactoryMetrics;
  readonly #cache: MeteredAssetCache;

  /** `cache` must be the MeteredAssetCache the deps' BuildRunner stores through. */
  constructor(deps: AssetServiceDeps, metrics: FactoryMetrics, cache: MeteredAssetCache) {
    super(deps);
    this.#m = metrics;
    this.#cache = cache;
  }

  /** Realises the asset (see AssetService.realize) and counts how it was obtained. */
  override async realize(planned: PlannedAsset, signal?: AbortSignal): Promise<CachedAsset> {
    const asset = await super.realize(planned, signal);
    const req = planned.request;
    const loaded = planned.schematic;
    const labels = { talos_version: planned.version, output_kind: req.kind, arch: req.arch };
    const origin = this.#cache.origin(asset);
    if (origin.kind === 'built') {
      this.#m.assetsBuilt.inc(labels);
      this.#m.assetsBuiltBytes.inc(labels, asset.size);
      this.#m.buildDuration.observe({ output_kind: req.kind }, origin.seconds);
    } else if (origin.kind === 'cached') {
      this.#m.assetsDeliveredCached.inc(labels);
      this.#m.assetsCachedBytes.inc(labels, asset.size);
    }
    if (!WITHOUT_EXTENSIONS.has(req.kind)) {
      for (const extension of loaded.schematic.customization.systemExtensions?.officialExtensions ?? []) {
        this.#m.extensionHits.inc({ extension });
      }
    }
    return asset;
  }
}
