/**
 * The composition root: builds every component from a validated Config. Nothing else in the code
 * base constructs long-lived components, so tests build a whole factory with a temp data dir.
 */
import { resolve, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/schema.js';
import { buildHttpApp, closeHttpApp } from './frontends/http/server.js';
import { registerVersionRoutes } from './frontends/http/routes/versions.js';
import { registerImageRoutes } from './frontends/http/routes/image.js';
import { registerPxeRoutes } from './frontends/http/routes/pxe.js';
import { AssetService } from './assets/asset-service.js';
import { BuildRunner, removeTree } from './assets/build-runner.js';
import type { SecureBootProvider } from './assets/secure-boot.js';
import { FsAssetCache } from './cache/fs-cache.js';
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
import type { Logger } from './util/logger.js';
import { scrubPaths } from './util/scrub-paths.js';
import { claimProcessDir } from './util/process-lock.js';

/** A built factory: the HTTP app plus lifecycle. */
export interface Factory {
  readonly config: Config;
  readonly app: FastifyInstance;
  readonly schematics: SchematicService;
  readonly release: ReleaseSource;
  readonly assets: AssetService;
  readonly runner: BuildRunner;
  /** Starts listening on `config.http.listen`; returns the bound address (port 0 → actual port). */
  listen(): Promise<{ host: string; port: number; url: string }>;
  close(): Promise<void>;
}

/** Optional overrides, for tests and alternative deployments. */
export interface FactoryOverrides {
  schematicStore?: SchematicStore;
  imageSource?: ImageSource;
  assetCache?: AssetCache;
  /** Secure Boot signing (nothing configures it yet: Secure Boot requests answer 400 without it). */
  secureBoot?: SecureBootProvider;
  /** Where log lines go (default stdout). */
  logStream?: NodeJS.WritableStream;
}

/** One OCI client for every configured registry (release source, schematic store, asset cache). */
export function buildOciClient(config: Config): OciClient {
  const hosts: Record<string, { insecure: boolean }> = {};
  for (const r of [config.artifacts.core, config.schematics.registry, config.cache.registry]) {
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

/** Builds the whole factory from configuration. */
export async function createFactory(config: Config, overrides: FactoryOverrides = {}): Promise<Factory> {
  const dataDir = resolve(config.dataDir);
  let ready = false;

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
    parser,
  });

  const release = new ReleaseSource({
    images: overrides.imageSource ?? buildImageSource(config, client),
    components: config.artifacts.core.components,
    namespace: config.artifacts.core.namespace,
    registry: config.artifacts.core.registry,
    policy: { minVersion: config.build.minTalosVersion, broken: config.build.brokenTalosVersions },
    recheckMs: config.artifacts.talosVersionRecheckInterval,
    cacheDir: join(dataDir, 'cache'),
    cacheMaxBytes: config.artifacts.cacheMaxBytes,
    log,
  });

  const cache = overrides.assetCache ?? buildAssetCache(config, dataDir, client, log);
  const workRoot = await prepareWorkRoot(join(dataDir, 'work'), log);
  const runner = new BuildRunner({
    cache,
    maxConcurrency: config.build.maxConcurrency,
    maxQueue: config.build.maxQueue,
    timeoutMs: config.build.timeout,
    workRoot,
    log,
  });
  const externalURL = externalUrlOf(config);
  const assets = new AssetService({
    release,
    runner,
    schematicExtension: { naming: config.build.schematicExtension, externalURL },
    extensionLimits: {
      maxBytes: config.build.maxExtensionBytes,
      maxEntries: config.build.maxExtensionEntries,
    },
    maxExtensions: config.build.maxExtensions,
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
    routes: [
      (a) => registerVersionRoutes(a, release),
      (a) => registerImageRoutes(a, { schematics, release, assets, secureBoot: overrides.secureBoot }),
      (a) =>
        registerPxeRoutes(a, {
          schematics,
          release,
          assets,
          secureBoot: overrides.secureBoot,
          baseUrl: config.http.externalPXEURL ?? externalURL,
          uefiInitrdArg: config.pxe.uefiInitrdArg,
        }),
    ],
  });
  sink.log = app.log;
  await app.ready();
  ready = true;

  return {
    config,
    app,
    schematics,
    release,
    assets,
    runner,
    async listen() {
      const { host, port } = splitListen(config.http.listen);
      await app.listen({ host, port });
      const addr = app.server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
      return { host, port: bound, url: `http://${urlHost}:${bound}` };
    },
    async close() {
      ready = false;
      // In-flight requests finish (and with them the builds they wait for), within the grace
      // period; connections still open after it (a client that stopped reading) are cut.
      await closeHttpApp(app, config.http.shutdownGracePeriod);
      runner.close(); // builds whose clients all left are not worth finishing
      await parser.close();
    },
  };
}
