/**
 * Build intermediates (extension bundles, modules.dep layers, microcode archives) kept in the
 * asset cache under their own keys: stored atomically, counted against the cache bound and
 * evicted like assets, and — with the registry cache — shared by every replica. Each is built once
 * at a time (single-flight per key; a concurrent build waits and then copies it), and verified on
 * every read: the copy a build uses is hashed as it is made, and a mismatch drops the entry and
 * rebuilds it, so a corrupt cache can cost time but never make a wrong asset. Freshly built ones
 * are stored behind the build's back: a cold build does not wait for the cache.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { AssetCache } from '../cache/asset-cache.js';
import {
  intermediateKey,
  type IntermediateSpec,
  type IntermediateStore,
  type ObtainedIntermediate,
} from '../builders/initramfs/intermediates.js';
import { reportBuildReuse, reportBuildStep } from '../util/build-progress.js';
import { type Logger, silentLogger } from '../util/logger.js';
import { SingleFlight } from '../util/single-flight.js';

/** Counters for tests, metrics and benchmarks. */
export interface IntermediateStats {
  reused: number;
  built: number;
  /** Cached copies that failed verification (dropped and rebuilt). */
  corrupt: number;
}

/** An {@link IntermediateStore} over an {@link AssetCache}. */
export class CachedIntermediateStore implements IntermediateStore {
  readonly #cache: AssetCache;
  readonly #log: Logger;
  readonly #flight = new SingleFlight<string, void>();
  readonly stats: IntermediateStats = { reused: 0, built: 0, corrupt: 0 };

  /**
   * `stagingDir` holds freshly built intermediates while they are stored, after the build that
   * made them has moved on (write-behind: a cold build does not wait for cache puts). It should
   * be on the file system of the build work dirs; otherwise each put is waited for.
   */
  constructor(cache: AssetCache, options: { stagingDir?: string; log?: Logger } = {}) {
    this.#cache = cache;
    this.#stagingDir = options.stagingDir;
    this.#log = options.log ?? silentLogger;
  }

  readonly #stagingDir: string | undefined;

  /** Settles when every intermediate built so far has been stored (or failed to be). */
  async settled(): Promise<void> {
    while (this.#storing.size > 0) await Promise.all(this.#storing.values());
  }

  async obtain(
    spec: IntermediateSpec | undefined,
    dest: string,
    build: (out: string) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<ObtainedIntermediate> {
    if (spec === undefined) {
      await build(dest);
      this.stats.built++;
      return { path: dest, key: undefined, reused: false };
    }
    const key = intermediateKey(spec);
    // A build that waited for another one's copy tries once more as the builder if that one failed.
    for (let attempt = 0; ; attempt++) {
      if (await this.#copyOut(key, spec, dest)) {
        this.stats.reused++;
        reportBuildReuse(spec.label, signal);
        return { path: dest, key, reused: true };
      }
      let built: Promise<void> | undefined;
      const shared = this.#flight.do(key, () => {
        built = this.#build(key, spec, dest, build);
        // Followers wait until the copy is in the cache; the builder only until its file exists.
        return built.then(() => this.#storing.get(key) ?? Promise.resolve());
      });
      if (built !== undefined) {
        shared.catch(() => undefined); // the builder's own failure surfaces through `built`
        await built;
        this.stats.built++;
        return { path: dest, key, reused: false };
      }
      reportBuildStep(`initramfs: wait for ${spec.label} (built by another build)`, signal);
      try {
        await shared;
      } catch (e) {
        if (attempt > 0) throw e;
      }
    }
  }

  readonly #storing = new Map<string, Promise<void>>();

  /** Builds into the work dir, keeps the file at `dest` and starts storing a copy. */
  async #build(
    key: string,
    spec: IntermediateSpec,
    dest: string,
    build: (out: string) => Promise<void>,
  ): Promise<void> {
    const out = join(dirname(dest), `.build-${key.slice(0, 16)}`);
    await rm(out, { force: true });
    await build(out);
    // The cache may move the file it is given: the build keeps its own name for the same bytes.
    await link(out, dest);
    // Out of the work dir, the copy can be stored after the build is done and its dir removed.
    let source = out;
    let behind = false;
    if (this.#stagingDir !== undefined) {
      const staged = join(this.#stagingDir, `${key}-${randomUUID()}`);
      try {
        await mkdir(this.#stagingDir, { recursive: true });
        await rename(out, staged);
        source = staged;
        behind = true;
      } catch {
        // Another file system: store it before the build goes on.
      }
    }
    const storing = this.#cache
      .put(key, source)
      .then(
        () => undefined,
        (e: unknown) => {
          // Only a speed-up for later builds: this one goes on with its own copy.
          this.#log.warn(
            { key, intermediate: spec.label, err: e instanceof Error ? e.message : String(e) },
            'could not keep a build intermediate',
          );
        },
      )
      .finally(() => {
        this.#storing.delete(key);
        return rm(source, { force: true });
      });
    this.#storing.set(key, storing);
    if (!behind) await storing;
  }

  /** Copies the cached bytes of `key` to `dest`, checking size and sha256; false on a miss. */
  async #copyOut(key: string, spec: IntermediateSpec, dest: string): Promise<boolean> {
    const asset = await this.#cache.get(key);
    if (!asset) return false;
    const hash = createHash('sha256');
    let size = 0;
    const tee = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(await asset.open(), tee, createWriteStream(dest, { flags: 'w', mode: 0o644 }));
    } catch (e) {
      await rm(dest, { force: true });
      this.#log.warn(
        { key, intermediate: spec.label, err: (e as Error).message },
        'reading a cached intermediate failed',
      );
      return false;
    }
    const sha256 = hash.digest('hex');
    if (sha256 === asset.sha256 && size === asset.size) return true;
    this.stats.corrupt++;
    this.#log.error(
      {
        key,
        intermediate: spec.label,
        expected: asset.sha256,
        actual: sha256,
        size,
        expectedSize: asset.size,
      },
      'cached intermediate failed verification; rebuilding it',
    );
    await rm(dest, { force: true });
    await this.#cache.invalidate?.(key);
    return false;
  }
}
