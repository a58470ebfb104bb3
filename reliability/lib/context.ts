/**
 * What every section shares: one temp root (removed at the end), the fixture releases, progress
 * output, and the list of everything started — each factory, registry and mount is stopped or
 * undone by its own handle (PIDs, never by name), also when a section throws.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { writeFile } from 'node:fs/promises';
import {
  startFactoryProcess,
  type FactoryProcess,
  type FactoryProcessOptions,
} from '../../bench/lib/factory-process.js';
import { freePort } from '../../bench/lib/nginx.js';

/** Options every section reads. */
export interface RunOptions {
  /** Soak length. */
  readonly minutes: number;
  /** The short form (`npm test`): fewer kills and scenarios, shorter phases. */
  readonly quick: boolean;
  /** Random seed (printed, so a run can be repeated). */
  readonly seed: number;
}

type Cleanup = { readonly what: string; readonly run: () => Promise<void> };

/** A factory process plus what a restart needs. */
export interface ManagedFactory {
  readonly name: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** The metrics listener's `/metrics` URL (when asked for with `metrics: true`; same port across restarts). */
  readonly metricsUrl?: string;
  process: FactoryProcess;
  /** Restarts on the same port and data dir after a stop or a kill; resolves when /healthz answers. */
  restart(): Promise<number>;
}

/** The run's shared state. */
export class RunContext {
  readonly #cleanups: Cleanup[] = [];
  #counter = 0;
  #random: () => number;

  private constructor(
    readonly root: string,
    readonly options: RunOptions,
  ) {
    this.#random = mulberry32(options.seed);
  }

  /** Creates the temp root. */
  static async create(options: RunOptions): Promise<RunContext> {
    const root = await mkdtemp(join(tmpdir(), 'if-reliability-'));
    return new RunContext(root, options);
  }

  /** A fresh directory under the root. */
  async dir(name: string): Promise<string> {
    const d = join(this.root, `${name}-${++this.#counter}`);
    await mkdir(d, { recursive: true });
    return d;
  }

  /** A number in [0, 1) from the run's seeded generator. */
  random(): number {
    return this.#random();
  }

  /** Progress line on stderr (the table goes to stdout). */
  log(line: string): void {
    process.stderr.write(`[reliability] ${line}\n`);
  }

  /** Registers an undo step (run last-in first-out by {@link close}). */
  onClose(what: string, run: () => Promise<void>): void {
    this.#cleanups.push({ what, run });
  }

  /**
   * Starts a factory process with `config` (written as its config file; dataDir and logs under the
   * root unless given) and registers its stop. `metrics: true` gives it a known metrics port.
   */
  async factory(
    name: string,
    config: NonNullable<ConfigInput>,
    options: FactoryProcessOptions & { metrics?: boolean } = {},
  ): Promise<ManagedFactory> {
    const metricsPort = options.metrics ? await freePort() : undefined;
    const env: Record<string, string> =
      metricsPort !== undefined ? { IMAGE_FACTORY__metrics__listen: `127.0.0.1:${metricsPort}` } : {};
    const dataDir = config.dataDir ?? (await this.dir(`${name}-data`));
    const full = { log: { level: 'info' as const }, ...config, dataDir };
    validateConfig(full); // a bad config fails here, naming the key, not as a silent exit
    const configFile = join(this.root, `${name}-${++this.#counter}.config.json`);
    await writeFile(configFile, JSON.stringify(full, null, 2));
    const logFile = join(this.root, `${name}-${this.#counter}.log`);
    const start = (port?: number): Promise<FactoryProcess> =>
      startFactoryProcess(env, {
        ...options,
        ...(port !== undefined ? { port } : {}),
        args: ['--config', configFile, ...(options.args ?? [])],
        logFile,
        readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
      });
    const managed: ManagedFactory = {
      name,
      dataDir,
      logFile,
      ...(metricsPort !== undefined ? { metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` } : {}),
      process: await start(),
      async restart() {
        const t0 = performance.now();
        managed.process = await start(managed.process.port);
        return performance.now() - t0;
      },
    };
    this.onClose(`factory ${name}`, () => managed.process.stop());
    return managed;
  }

  /** Undoes everything registered, then removes the root. */
  async close(): Promise<void> {
    for (const c of this.#cleanups.reverse()) {
      await c.run().catch((e: unknown) => this.log(`cleanup of ${c.what} failed: ${(e as Error).message}`));
    }
    await rm(this.root, { recursive: true, force: true });
  }
}

/** A small seeded PRNG (mulberry32): runs are repeatable with `--seed`. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
