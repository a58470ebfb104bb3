/**
 * Runs builds for the asset cache: one build per key at a time (single-flight), at most N builds
 * at once (semaphore), each detached from the requests that wait for it and bounded by a timeout.
 * A waiter that goes away stops waiting; the build goes on for the others (and the cache). A failed
 * build is never cached; the next request starts a fresh one.
 */
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AssetCache, CachedAsset } from '../cache/asset-cache.js';
import { FactoryError, toFactoryError } from '../errors.js';
import { type Logger, silentLogger } from '../util/logger.js';
import { Semaphore } from '../util/semaphore.js';
import { SingleFlight } from '../util/single-flight.js';

/** Produces the asset file inside `workDir`; must honour `signal`. */
export type BuildFn = (workDir: string, signal: AbortSignal) => Promise<string>;

/** Options of {@link BuildRunner}. */
export interface BuildRunnerOptions {
  cache: AssetCache;
  maxConcurrency: number;
  /** Builds allowed to wait for a slot; more answer 503 BUSY (default unbounded). */
  maxQueue?: number;
  timeoutMs: number;
  /** Scratch root; each build gets a fresh directory below it, removed afterwards. */
  workRoot: string;
  log?: Logger;
}

/** Counters for tests, metrics and benchmarks. */
export interface BuildStats {
  builds: number;
  failures: number;
  cacheHits: number;
}

/** Single-flight, bounded, detached builds in front of an AssetCache. */
export class BuildRunner {
  readonly #o: BuildRunnerOptions;
  readonly #log: Logger;
  readonly #flight = new SingleFlight<string, CachedAsset>();
  readonly #semaphore: Semaphore;
  readonly stats: BuildStats = { builds: 0, failures: 0, cacheHits: 0 };
  readonly #running = new Set<AbortController>();

  /** Aborts every running build (shutdown: nobody is waiting for them any more). */
  close(): void {
    for (const c of this.#running) c.abort(new FactoryError('NOT_READY', 'the factory is shutting down'));
  }

  constructor(options: BuildRunnerOptions) {
    this.#o = options;
    this.#log = options.log ?? silentLogger;
    this.#semaphore = new Semaphore(options.maxConcurrency, options.maxQueue);
  }

  /** Builds in flight and queued (for `/readyz`-style introspection and metrics). */
  get load(): { active: number; waiting: number; inflight: number } {
    return { ...this.#semaphore.stats, inflight: this.#flight.size };
  }

  /**
   * Returns the cached asset for `key`, building it with `build` on a miss. `light` builds (a
   * copy, a few bytes of text) skip the build queue: they must not wait behind long builds.
   */
  async get(
    key: string,
    build: BuildFn,
    waiterSignal?: AbortSignal,
    options: { light?: boolean } = {},
  ): Promise<CachedAsset> {
    const hit = await this.#o.cache.get(key);
    if (hit) {
      this.stats.cacheHits++;
      return hit;
    }
    const shared = this.#flight.do(key, () => this.#buildAndCache(key, build, options.light === true));
    return waiterSignal ? raceAbort(shared, waiterSignal) : shared;
  }

  async #buildAndCache(key: string, build: BuildFn, light: boolean): Promise<CachedAsset> {
    // Another waiter may have finished this key between our cache miss and joining the flight.
    const hit = await this.#o.cache.get(key);
    if (hit) return hit;
    const run = () => this.#timedBuild(key, build);
    return light ? run() : this.#semaphore.run(run);
  }

  /** One build in a fresh work dir, bounded by the timeout (which starts once the build runs). */
  async #timedBuild(key: string, build: BuildFn): Promise<CachedAsset> {
    // First the work dir: if it cannot be made (full or read-only disk) no timer may be left behind.
    const workDir = await mkdtemp(join(this.#o.workRoot, 'build-'));
    // A ref'd timer (unlike AbortSignal.timeout) keeps the process alive while a build is stuck.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error('build timeout')), this.#o.timeoutMs);
    const signal = timeout.signal;
    this.#running.add(timeout);
    const started = Date.now();
    this.stats.builds++;
    try {
      const file = await build(workDir, signal);
      const asset = await this.#o.cache.put(key, file);
      this.#log.info({ key, size: asset.size, ms: Date.now() - started }, 'asset built');
      return asset;
    } catch (e) {
      this.stats.failures++;
      if (signal.aborted && signal.reason instanceof FactoryError) throw signal.reason;
      if (signal.aborted) {
        throw new FactoryError(
          'BUILD_TIMEOUT',
          `build did not finish within ${Math.round(this.#o.timeoutMs / 1000)} s`,
          {
            cause: e,
          },
        );
      }
      const fe = toFactoryError(e);
      this.#log.error(
        { key, code: fe.code, err: fe.message, cause: (e as Error).message },
        'asset build failed',
      );
      throw fe;
    } finally {
      clearTimeout(timer);
      this.#running.delete(timeout);
      // A failed clean-up must not turn a finished build into an error; it is logged and swept later.
      await removeTree(workDir).catch((e: unknown) =>
        this.#log.warn({ workDir, err: (e as Error).message }, 'could not remove build work dir'),
      );
    }
  }
}

/** Removes a build tree, first making read-only directories (copied from archives) writable again. */
export async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch {
    await chmodTree(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

async function chmodTree(dir: string): Promise<void> {
  await chmod(dir, 0o700).catch(() => undefined);
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) await chmodTree(join(dir, e.name));
  }
}

/** Resolves/rejects with `p`, or rejects early when `signal` aborts (the work itself goes on). */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => undefined); // the work's own failure has no listener any more
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
