/**
 * The factory's Prometheus metrics: one prom-client Registry per factory (created by the
 * composition root, never a module-level default registry), with upstream's counter names
 * (`image_factory_schematic_*`, `image_factory_assets_*`, extension hits) plus HTTP request
 * durations per route and status, build durations per asset kind, build queue depth, asset cache
 * size and release-source requests. Values that other components already count (queue, cache
 * size) are read at scrape time through {@link MetricSources}.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Labels of the per-asset counters (upstream's). */
export type AssetLabels = { talos_version: string; output_kind: string; arch: string };

/** Live values read at scrape time. */
export interface MetricSources {
  /** Builds running and waiting for a slot. */
  buildLoad?: () => { active: number; waiting: number };
  /** Builds started and failed since start. */
  buildStats?: () => { builds: number; failures: number };
  /** Asset cache size, when the cache keeps count. */
  assetCache?: () => { bytes?: number; entries?: number };
  /** Schematics held in the in-memory cache. */
  schematicCacheSize?: () => number;
}

const ASSET_LABELS = ['talos_version', 'output_kind', 'arch'] as const;

/** Every metric of one factory, registered in its own Registry. */
export class FactoryMetrics {
  readonly registry = new Registry();

  readonly schematicGet: Counter;
  readonly schematicCreate: Counter;
  readonly schematicDuplicateCreate: Counter;
  readonly assetsDeliveredCached: Counter<(typeof ASSET_LABELS)[number]>;
  readonly assetsCachedBytes: Counter<(typeof ASSET_LABELS)[number]>;
  readonly assetsBuilt: Counter<(typeof ASSET_LABELS)[number]>;
  readonly assetsBuiltBytes: Counter<(typeof ASSET_LABELS)[number]>;
  readonly assetCacheErrors: Counter<'operation'>;
  readonly buildDuration: Histogram<'output_kind'>;
  readonly extensionHits: Counter<'extension'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly releaseRequests: Counter<'operation'>;
  readonly releaseErrors: Counter<'operation' | 'code'>;

  constructor(sources: MetricSources = {}, options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Counter<L>({ name, help, labelNames, registers });

    this.schematicGet = counter(
      'image_factory_schematic_get_total',
      'Schematics loaded (every lookup by ID)',
    );
    this.schematicCreate = counter('image_factory_schematic_create_total', 'Schematics created (new IDs)');
    this.schematicDuplicateCreate = counter(
      'image_factory_schematic_duplicate_create_total',
      'Schematic creations of an ID that already existed',
    );
    this.assetsDeliveredCached = counter(
      'image_factory_assets_delivered_cached_total',
      'Asset requests answered from the asset cache',
      ASSET_LABELS,
    );
    this.assetsCachedBytes = counter(
      'image_factory_assets_cached_bytes_total',
      'Bytes of assets answered from the asset cache (asset size per request)',
      ASSET_LABELS,
    );
    this.assetsBuilt = counter('image_factory_assets_built_total', 'Assets built and cached', ASSET_LABELS);
    this.assetsBuiltBytes = counter(
      'image_factory_assets_built_bytes_total',
      'Bytes of assets built and cached',
      ASSET_LABELS,
    );
    this.assetCacheErrors = counter(
      'image_factory_asset_cache_errors_total',
      'Asset cache operations (get, put) that failed',
      ['operation'],
    );
    this.buildDuration = new Histogram({
      name: 'image_factory_asset_build_duration_seconds',
      help: 'From the cache miss to the stored asset (queue wait included), per asset kind',
      labelNames: ['output_kind'],
      buckets: [0.1, 0.5, 1, 5, 10, 60, 180, 600],
      registers,
    });
    this.extensionHits = counter(
      'image_factory_profile_system_extension_hits_total',
      'Asset deliveries per official system extension in the schematic',
      ['extension'],
    );
    this.httpDuration = new Histogram({
      name: 'image_factory_http_request_duration_seconds',
      help: 'HTTP request duration per route and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers,
    });
    this.releaseRequests = counter(
      'image_factory_release_requests_total',
      'Requests to the release source (registry or OCI layout) by operation',
      ['operation'],
    );
    this.releaseErrors = counter(
      'image_factory_release_request_errors_total',
      'Failed release-source requests by operation and error code',
      ['operation', 'code'],
    );

    new Gauge({
      name: 'image_factory_build_queue_depth',
      help: 'Asset builds waiting for a build slot',
      registers,
      collect() {
        this.set(sources.buildLoad?.().waiting ?? 0);
      },
    });
    new Gauge({
      name: 'image_factory_builds_active',
      help: 'Asset builds running',
      registers,
      collect() {
        this.set(sources.buildLoad?.().active ?? 0);
      },
    });
    new Counter({
      name: 'image_factory_asset_builds_total',
      help: 'Asset builds started (every kind)',
      registers,
      collect() {
        this.reset();
        this.inc(sources.buildStats?.().builds ?? 0);
      },
    });
    new Counter({
      name: 'image_factory_asset_build_failures_total',
      help: 'Asset builds that failed (never cached)',
      registers,
      collect() {
        this.reset();
        this.inc(sources.buildStats?.().failures ?? 0);
      },
    });
    new Gauge({
      name: 'image_factory_asset_cache_bytes',
      help: 'Bytes held by the asset cache',
      registers,
      collect() {
        this.set(sources.assetCache?.().bytes ?? 0);
      },
    });
    new Gauge({
      name: 'image_factory_asset_cache_entries',
      help: 'Assets held by the asset cache',
      registers,
      collect() {
        this.set(sources.assetCache?.().entries ?? 0);
      },
    });
    new Gauge({
      name: 'image_factory_schematic_cache_size',
      help: 'Schematics held in the in-memory cache',
      registers,
      collect() {
        this.set(sources.schematicCacheSize?.() ?? 0);
      },
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
