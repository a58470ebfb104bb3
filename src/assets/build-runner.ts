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
import { attachBuildProgress } from '../util/build-progress.js';
import { Semaphore } from '../util/semaphore.js';
import { SingleFlight } from '../util/single-flight.js';

/** Produces the asset file inside `workDir`; must honour `signal`. */
export type BuildFn = (workDir: string, signal: AbortSignal) => Promise<string>;

/** Where a build of one key stands (absent: neither running, queued nor recently failed). */
export type BuildStatus =
  | { readonly state: 'queued'; readonly position: number; readonly kind: string | undefined }
  | {
      readonly state: 'building';
      readonly kind: string | undefined;
      /** The step the build announced last (every tool run names its step). */
      readonly step: string | undefined;
      /** Intermediates taken from the cache so far instead of being built (`squashfs siderolabs/x`). */
      readonly reused: readonly string[];
      readonly startedAt: number;
    }
  | { readonly state: 'failed'; readonly code: string; readonly message: string; readonly at: number };

/** How long, and for how many keys, a failure is remembered for status queries. */
const FAILURE_MEMORY_MS = 10 * 60_000;
const FAILURE_MEMORY_ENTRIES = 1000;

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
  /** Keys waiting for a slot, in grant order (the semaphore is FIFO). */
  readonly #queued: string[] = [];
  readonly #building = new Map<
    string,
    { kind: string | undefined; step: string | undefined; reused: string[]; startedAt: number }
  >();
  readonly #kinds = new Map<string, string | undefined>();
  readonly #failed = new Map<string, { code: string; message: string; at: number }>();

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

  /** The cached asset for `key`, or undefined (counted as a hit when found). */
  async lookup(key: string): Promise<CachedAsset | undefined> {
    const hit = await this.#o.cache.get(key);
    if (hit) this.stats.cacheHits++;
    return hit;
  }

  /** The cached asset for `key` without counting a hit (status queries are not deliveries). */
  peek(key: string): Promise<CachedAsset | undefined> {
    return this.#o.cache.get(key);
  }

  /** Where the build of `key` stands right now (queued with position, building with step, failed). */
  status(key: string): BuildStatus | undefined {
    const b = this.#building.get(key);
    if (b) return { state: 'building', ...b, reused: [...b.reused] };
    const i = this.#queued.indexOf(key);
    if (i >= 0) return { state: 'queued', position: i + 1, kind: this.#kinds.get(key) };
    const f = this.#failed.get(key);
    if (f && Date.now() - f.at < FAILURE_MEMORY_MS) return { state: 'failed', ...f };
    return undefined;
  }

  /**
   * Returns the cached asset for `key`, building it with `build` on a miss. `light` builds (a
   * copy, a few bytes of text) skip the build queue: they must not wait behind long builds.
   */
  async get(
    key: string,
    build: BuildFn,
    waiterSignal?: AbortSignal,
    options: { light?: boolean; kind?: string } = {},
  ): Promise<CachedAsset> {
    const hit = await this.lookup(key);
    if (hit) return hit;
    const shared = this.#flight.do(key, () =>
      this.#buildAndCache(key, build, options.light === true, options.kind),
    );
    return waiterSignal ? raceAbort(shared, waiterSignal) : shared;
  }

  async #buildAndCache(
    key: string,
    build: BuildFn,
    light: boolean,
    kind: string | undefined,
  ): Promise<CachedAsset> {
    // Another waiter may have finished this key between our cache miss and joining the flight.
    const hit = await this.#o.cache.get(key);
    if (hit) return hit;
    const run = () => this.#timedBuild(key, build, kind);
    if (light) return run();
    this.#queued.push(key);
    this.#kinds.set(key, kind);
    let granted = false;
    try {
      return await this.#semaphore.run(() => {
        granted = true;
        this.#unqueue(key);
        return run();
      });
    } finally {
      if (!granted) this.#unqueue(key);
      this.#kinds.delete(key);
    }
  }

  #unqueue(key: string): void {
    const i = this.#queued.indexOf(key);
    if (i >= 0) this.#queued.splice(i, 1);
  }

  #rememberFailure(key: string, e: FactoryError): void {
    this.#failed.delete(key);
    this.#failed.set(key, { code: e.code, message: e.message, at: Date.now() });
    // Oldest first (insertion order): a bounded memory, not a log.
    for (const k of this.#failed.keys()) {
      if (this.#failed.size <= FAILURE_MEMORY_ENTRIES) break;
      this.#failed.delete(k);
    }
  }

  /** One build in a fresh work dir, bounded by the timeout (which starts once the build runs). */
  async #timedBuild(key: string, build: BuildFn, kind: string | undefined): Promise<CachedAsset> {
    // First the work dir: if it cannot be made (full or read-only disk) no timer may be left behind.
    const workDir = await mkdtemp(join(this.#o.workRoot, 'build-'));
    // A ref'd timer (unlike AbortSignal.timeout) keeps the process alive while a build is stuck.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error('build timeout')), this.#o.timeoutMs);
    const signal = timeout.signal;
    this.#running.add(timeout);
    const started = Date.now();
    this.stats.builds++;
    const state = { kind, step: undefined as string | undefined, reused: [] as string[], startedAt: started };
    this.#building.set(key, state);
    this.#failed.delete(key);
    try {
      attachBuildProgress(
        signal,
        (step) => {
          state.step = step;
        },
        (what) => {
          state.reused.push(what);
        },
      );
      const file = await build(workDir, signal);
      state.step = 'cache: store';
      const asset = await this.#o.cache.put(key, file);
      this.#log.info(
        { key, kind, size: asset.size, ms: Date.now() - started, reused: state.reused.length },
        'asset built',
      );
      return asset;
    } catch (e) {
      this.stats.failures++;
      const fe =
        signal.aborted && signal.reason instanceof FactoryError
          ? signal.reason
          : signal.aborted
            ? new FactoryError(
                'BUILD_TIMEOUT',
                `build did not finish within ${Math.round(this.#o.timeoutMs / 1000)} s`,
                { cause: e },
              )
            : toFactoryError(e);
      if (!signal.aborted) {
        this.#log.error(
          { key, kind, code: fe.code, err: fe.message, cause: (e as Error).message },
          'asset build failed',
        );
      }
      this.#rememberFailure(key, fe);
      throw fe;
    } finally {
      this.#building.delete(key);
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
