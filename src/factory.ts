/**
 * The composition root: builds every component from a validated Config. Nothing else in the code
 * base constructs long-lived components, so tests build a whole factory with a temp data dir.
 */
import { resolve, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/schema.js';
import { buildHttpApp, closeHttpApp } from './frontends/http/server.js';
import { Delivery } from './frontends/http/deliver.js';
import { registerVersionRoutes } from './frontends/http/routes/versions.js';
import { registerImageRoutes } from './frontends/http/routes/image.js';
import { registerPxeRoutes } from './frontends/http/routes/pxe.js';
import { registerStatusRoutes } from './frontends/http/routes/status.js';
import { registerSecureBootRoutes } from './frontends/http/routes/secureboot.js';
import { AssetService, type AssetServiceDeps } from './assets/asset-service.js';
import { BuildRunner, removeTree } from './assets/build-runner.js';
import { FsAssetCache } from './cache/fs-cache.js';
import { CachedIntermediateStore } from './assets/intermediate-store.js';
import { AssetCacheDocuments } from './cache/documents.js';
import type { AssetCache } from './cache/asset-cache.js';
import { externalUrlOf } from './config/load.js';
import type { ImageSource } from './release/image-source.js';
import { LayoutImageSource } from './release/layout-source.js';
import { RegistryImageSource } from './release/registry-source.js';
import { OciClient, dockerConfigCredentials } from './oci/index.js';
import { ReleaseSource } from './release/release-source.js';
import { FactoryError } from './errors.js';
import { CachedSchematicStore } from './storage/cached-store.js';
import { FsSchematicStore } from './storage/fs-store.js';
import { RegistrySchematicStore } from './storage/registry-store.js';
import { RegistryAssetCache } from './cache/registry-cache.js';
import { SchematicService } from './storage/schematic-service.js';
import { SchematicParsePool } from './schematic/parse-pool.js';
import type { SchematicStore } from './storage/schematic-store.js';
import { factoryVersion } from './version.js';
import { loadSecureBootMaterial, type SecureBootMaterial } from './secureboot/material.js';
import type { Logger } from './util/logger.js';
import { ExternalBacking } from './frontends/registry/external-backing.js';
import { InstallerImages } from './frontends/registry/installer-images.js';
import { LocalBacking } from './frontends/registry/local-backing.js';
import { registerRegistryRoutes } from './frontends/registry/routes.js';
import { loadSigningKey } from './frontends/registry/signing-key.js';
import { SourceProxy } from './frontends/registry/source-proxy.js';
import { RegistryStore } from './frontends/registry/store.js';
import { registerUiRoutes } from './frontends/ui/routes.js';
import { FactoryMetrics } from './metrics/metrics.js';
import { MeteredAssetCache } from './metrics/metered-cache.js';
import { MeteredAssetService } from './metrics/metered-assets.js';
import { MeteredImageSource } from './metrics/metered-image-source.js';
import { registerHttpMetrics } from './metrics/http-hooks.js';
import { schematicObserver } from './metrics/schematic-observer.js';
import { startMetricsServer, type MetricsServer } from './metrics/server.js';
import { scrubPaths } from './util/scrub-paths.js';
import { claimProcessDir } from './util/process-lock.js';
import { sweepStaleTemps } from './util/stale-temps.js';

/** A built factory: the HTTP app plus lifecycle. */
export interface Factory {
  readonly config: Config;
  readonly app: FastifyInstance;
  readonly schematics: SchematicService;
  readonly release: ReleaseSource;
  readonly assets: AssetService;
  readonly runner: BuildRunner;
  /** The loaded Secure Boot material; undefined when Secure Boot is not configured. */
  readonly secureBoot: SecureBootMaterial | undefined;
  /** The registry frontend's installer images (stats for tests and metrics). */
  readonly installers: InstallerImages;
  /** Prometheus metrics; undefined when `metrics.listen` is empty. */
  readonly metrics: FactoryMetrics | undefined;
  /** Build intermediates kept in the asset cache (absent with `build.reuseIntermediates: false`). */
  readonly intermediates: CachedIntermediateStore | undefined;
  /**
   * Starts listening on `config.http.listen` (and the metrics listener on `metrics.listen`);
   * returns the bound addresses (port 0 → actual port).
   */
  listen(): Promise<{ host: string; port: number; url: string; metricsUrl?: string }>;
  close(): Promise<void>;
}

/** Optional overrides, for tests and alternative deployments. */
export interface FactoryOverrides {
  schematicStore?: SchematicStore;
  imageSource?: ImageSource;
  assetCache?: AssetCache;
  /** The asset kind registry (tests add stand-ins for kinds still to come). */
  kinds?: AssetServiceDeps['kinds'];
  /** Where log lines go (default stdout). */
  logStream?: NodeJS.WritableStream;
}

/** One OCI client for every configured registry (release source, schematic store, asset cache). */
export function buildOciClient(config: Config): OciClient {
  const hosts: Record<string, { insecure: boolean }> = {};
  const external = config.registry.external ? [config.registry.external] : [];
  for (const r of [config.artifacts.core, config.schematics.registry, config.cache.registry, ...external]) {
    // A registry marked insecure anywhere is plain HTTP everywhere: it is one host.
    hosts[r.registry] = { insecure: (hosts[r.registry]?.insecure ?? false) || r.insecure };
  }
  return new OciClient({
    hosts,
    credentials: dockerConfigCredentials(),
    retry: { maxAttempts: config.artifacts.retries + 1 },
    timeoutMs: config.artifacts.requestTimeout,
    maxManifestBytes: config.artifacts.maxManifestSize,
    userAgent: `image-factory/${factoryVersion()}`,
  });
}

/** `<registry>/<namespace>/<repository>` of a configured repository. */
function repositoryOf(r: { registry: string; namespace: string; repository: string }): string {
  return [r.registry, r.namespace, r.repository].filter((x) => x !== '').join('/');
}

/** The ImageSource release inputs are read from, per `artifacts.source`. */
function buildImageSource(config: Config, client: () => OciClient): ImageSource {
  if (config.artifacts.source === 'oci-layout') {
    if (!config.artifacts.layoutDir) {
      throw new FactoryError(
        'CONFIG_INVALID',
        'config key "artifacts.layoutDir": required when artifacts.source is oci-layout',
      );
    }
    return new LayoutImageSource(config.artifacts.layoutDir, {
      maxManifestBytes: config.artifacts.maxManifestSize,
    });
  }
  return new RegistryImageSource(client(), config.artifacts.core.registry);
}

/** The durable schematic store, per `schematics.store`. */
function buildSchematicStore(
  config: Config,
  dataDir: string,
  client: () => OciClient,
  log: Logger,
): SchematicStore {
  if (config.schematics.store === 'registry') {
    return new RegistrySchematicStore(client(), repositoryOf(config.schematics.registry), log);
  }
  return new FsSchematicStore(join(dataDir, 'schematics'), log);
}

/** The asset cache, per `cache.store`. */
function buildAssetCache(config: Config, dataDir: string, client: () => OciClient, log: Logger): AssetCache {
  if (config.cache.store === 'registry') {
    return new RegistryAssetCache({
      client: client(),
      repository: repositoryOf(config.cache.registry),
      spoolDir: join(dataDir, 'asset-spool'),
      spoolMaxBytes: config.cache.maxBytes,
      log,
    });
  }
  return new FsAssetCache({ dir: join(dataDir, 'assets'), maxBytes: config.cache.maxBytes, log });
}

/**
 * This process's scratch root, `<work>/<pid>-<start>` (see `util/process-lock.ts`); trees left by
 * processes that no longer run (a crash, a kill -9, a restarted container's PID 1) are swept
 * first. Other live processes (a CLI build beside the service) keep theirs.
 */
async function prepareWorkRoot(work: string, log: Logger): Promise<string> {
  const { dir, stale } = await claimProcessDir(work);
  for (const name of stale) {
    await removeTree(join(work, name)).catch((e: unknown) =>
      log.warn({ dir: join(work, name), err: (e as Error).message }, 'could not sweep stale work dir'),
    );
  }
  return dir;
}

function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(listen.slice(i + 1)) };
}

/** Size figures of the asset cache implementations that keep them. */
function cacheSize(cache: AssetCache | undefined): { bytes?: number; entries?: number } {
  if (cache instanceof FsAssetCache) return { bytes: cache.usedBytes, entries: cache.entries };
  if (cache instanceof RegistryAssetCache) return { bytes: cache.spoolBytes };
  return {};
}

/** Builds the whole factory from configuration. */
export async function createFactory(config: Config, overrides: FactoryOverrides = {}): Promise<Factory> {
  const dataDir = resolve(config.dataDir);
  let ready = false;
  // Key material first, before anything that holds a handle (workers, timers) is started: a
  // problem stops start-up with a message naming the config key (never the key itself) and
  // leaves nothing running.
  const secureBoot = await loadSecureBootMaterial(config.secureBoot, dataDir);
  const signingKey = await loadSigningKey(
    config.registry.signingKeyPath,
    join(dataDir, 'registry', 'signing-key.pem'),
  );
  // Metrics read live values from components built below (closures, evaluated at scrape time).
  const live: { runner?: BuildRunner; cache?: AssetCache; store?: CachedSchematicStore } = {};
  const metrics =
    config.metrics.listen === ''
      ? undefined
      : new FactoryMetrics({
          buildLoad: () => live.runner?.load ?? { active: 0, waiting: 0 },
          buildStats: () => live.runner?.stats ?? { builds: 0, failures: 0 },
          assetCache: () => cacheSize(live.cache),
          schematicCacheSize: () => live.store?.size ?? 0,
        });
  const metered = <T>(component: T, wrap: (c: T, m: FactoryMetrics) => T): T =>
    metrics ? wrap(component, metrics) : component;

  // The app's logger is created by Fastify; stores log through a late-bound adapter to it.
  const sink: { log?: Logger } = {};
  const log: Logger = {
    info: (o, m) => sink.log?.info(o, m),
    warn: (o, m) => sink.log?.warn(o, m),
    error: (o, m) => sink.log?.error(o, m),
    debug: (o, m) => sink.log?.debug(o, m),
  };

  let oci: OciClient | undefined;
  const client = (): OciClient => (oci ??= buildOciClient(config));
  const backing = overrides.schematicStore ?? buildSchematicStore(config, dataDir, client, log);
  const store = new CachedSchematicStore(backing, {
    capacity: config.schematics.cacheCapacity,
    maxBytes: config.schematics.cacheMaxBytes,
    negativeTtlMs: config.schematics.negativeTTL,
  });
  const parser = new SchematicParsePool({
    workers: config.schematics.parseWorkers,
    maxQueue: config.schematics.parseQueue,
    timeoutMs: config.schematics.parseTimeout,
  });
  await parser.warm();
  const schematics = new SchematicService(store, {
    parsedCapacity: config.schematics.parsedCacheCapacity,
    parsedMaxBytes: config.schematics.cacheMaxBytes,
    ...(metrics ? { observer: schematicObserver(metrics) } : {}),
    parser,
  });
  live.store = store;

  const baseCache = overrides.assetCache ?? buildAssetCache(config, dataDir, client, log);
  live.cache = baseCache;
  const meteredCache = metrics ? new MeteredAssetCache(baseCache, metrics) : undefined;
  const cache = meteredCache ?? baseCache;
  const workRoot = await prepareWorkRoot(join(dataDir, 'work'), log);
  // Temp files of processes killed mid-write (a crash, kill -9) anywhere else in the data dir.
  const swept = await sweepStaleTemps(dataDir, { skip: ['work', 'demo-release', 'demo-grub'] });

  const release = new ReleaseSource({
    images: metered(
      overrides.imageSource ?? buildImageSource(config, client),
      (i, m) => new MeteredImageSource(i, m),
    ),
    components: config.artifacts.core.components,
    namespace: config.artifacts.core.namespace,
    registry: config.artifacts.core.registry,
    policy: { minVersion: config.build.minTalosVersion, broken: config.build.brokenTalosVersions },
    recheckMs: config.artifacts.talosVersionRecheckInterval,
    cacheDir: join(dataDir, 'cache'),
    cacheMaxBytes: config.artifacts.cacheMaxBytes,
    // Catalogs by digest in the (shared) asset cache: a replica's cache hit needs no release blob.
    documents: new AssetCacheDocuments(cache, workRoot),
    log,
  });

  const runner = new BuildRunner({
    cache,
    maxConcurrency: config.build.maxConcurrency,
    maxQueue: config.build.maxQueue,
    timeoutMs: config.build.timeout,
    workRoot,
    log,
  });
  live.runner = runner;
  const externalURL = externalUrlOf(config);
  const intermediates = config.build.reuseIntermediates
    ? new CachedIntermediateStore(cache, { stagingDir: join(workRoot, 'intermediates'), log })
    : undefined;
  const assetDeps: AssetServiceDeps = {
    release,
    runner,
    ...(secureBoot ? { secureBoot } : {}),
    grubDirs: config.build.grubDirs,
    ...(overrides.kinds ? { kinds: overrides.kinds } : {}),
    schematicExtension: { naming: config.build.schematicExtension, externalURL },
    extensionLimits: {
      maxBytes: config.build.maxExtensionBytes,
      maxEntries: config.build.maxExtensionEntries,
    },
    maxExtensions: config.build.maxExtensions,
    // Build intermediates share the asset cache: its bound, its eviction, its replicas.
    ...(intermediates ? { intermediates } : {}),
    initramfsCompression: config.build.initramfsCompression,
  };
  const assets =
    metrics && meteredCache
      ? new MeteredAssetService(assetDeps, metrics, meteredCache)
      : new AssetService(assetDeps);

  const external = config.registry.external;
  const installers = new InstallerImages({
    schematics,
    release,
    assets,
    runner,
    key: signingKey,
    backing: external
      ? new ExternalBacking({ client: client(), ...external, scratchDir: join(workRoot, 'registry') })
      : new LocalBacking(
          new RegistryStore(join(dataDir, 'registry'), { maxBytes: config.artifacts.maxManifestSize, log }),
          new URL(externalURL).host,
        ),
    limits: { maxConfigBytes: config.artifacts.maxManifestSize, maxBlobBytes: config.registry.maxBlobSize },
    log,
  });
  const proxy = new SourceProxy({ release, maxBlobBytes: config.registry.maxBlobSize });
  // Cached bytes: from reused buffers, or behind nginx as X-Accel-Redirect into the data dir.
  const delivery = new Delivery({
    ...(config.http.accelRedirect
      ? { accelRedirect: { prefix: config.http.accelRedirect, root: dataDir } }
      : {}),
    responseIdleMs: config.http.responseIdleTimeout,
  });

  const app = buildHttpApp({
    version: factoryVersion(),
    logLevel: config.log.level,
    ...(overrides.logStream ? { logStream: overrides.logStream } : {}),
    bodyLimit: config.http.bodyLimit,
    requestTimeoutMs: config.http.requestTimeout,
    bodyIdleTimeoutMs: config.http.bodyIdleTimeout,
    responseIdleTimeoutMs: config.http.responseIdleTimeout,
    maxConnections: config.http.maxConnections,
    // Tool stderr in build errors names files in the build's work dir: no server paths go out.
    redact: (m) =>
      scrubPaths(m, [{ dir: dataDir, label: '<data>' }]).replace(
        /<data>\/work\/[^/\s]+\/build-[^/\s]+/g,
        '<build>',
      ),
    allowedOrigins: config.http.allowedOrigins,
    schematics,
    ready: () => ready,
    hooks: metrics ? [(a) => registerHttpMetrics(a, metrics)] : [],
    routes: [
      (a) => registerVersionRoutes(a, release),
      (a) => registerImageRoutes(a, { schematics, release, assets, secureBoot, delivery }),
      (a) => registerStatusRoutes(a, { schematics, release, assets, secureBoot }),
      (a) => registerSecureBootRoutes(a, secureBoot?.signer.certificatePem),
      (a) =>
        registerPxeRoutes(a, {
          schematics,
          release,
          assets,
          secureBoot,
          baseUrl: config.http.externalPXEURL ?? externalURL,
          uefiInitrdArg: config.pxe.uefiInitrdArg,
        }),
      (a) => registerRegistryRoutes(a, { installers, proxy, publicKeyPem: signingKey.publicPem, delivery }),
      (a) =>
        registerUiRoutes(a, {
          schematics,
          release,
          assets,
          secureBoot: secureBoot !== undefined,
          externalURL,
          externalPXEURL: config.http.externalPXEURL ?? externalURL,
          factoryVersion: factoryVersion(),
        }),
    ],
  });
  sink.log = app.log;
  if (swept.length > 0)
    log.warn({ count: swept.length, first: swept[0] }, 'removed temp files left by a crash');
  await app.ready();
  ready = true;
  let metricsServer: MetricsServer | undefined;

  return {
    config,
    app,
    schematics,
    release,
    assets,
    runner,
    installers,
    metrics,
    intermediates,
    secureBoot,
    async listen() {
      const { host, port } = splitListen(config.http.listen);
      if (metrics && !metricsServer) {
        const m = splitListen(config.metrics.listen);
        metricsServer = await startMetricsServer(metrics, m.host, m.port).catch((e: unknown) => {
          throw new FactoryError(
            'CONFIG_INVALID',
            `config key "metrics.listen": cannot listen on ${config.metrics.listen}: ${(e as Error).message}`,
            { cause: e },
          );
        });
      }
      await app.listen({ host, port });
      const addr = app.server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
      return {
        host,
        port: bound,
        url: `http://${urlHost}:${bound}`,
        ...(metricsServer ? { metricsUrl: metricsServer.url } : {}),
      };
    },
    async close() {
      ready = false;
      await metricsServer?.close();
      // In-flight requests finish (and with them the builds they wait for), within the grace
      // period; connections still open after it (a client that stopped reading) are cut.
      await closeHttpApp(app, config.http.shutdownGracePeriod);
      runner.close(); // builds whose clients all left are not worth finishing
      await intermediates?.settled(); // build intermediates still being stored
      await parser.close();
    },
  };
}
