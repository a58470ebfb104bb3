/**
 * Schematic parsing off the event loop: a small pool of worker threads with a bounded queue and a
 * deadline per job. A hostile body (hundreds of thousands of tokens) costs a worker some hundred
 * milliseconds, never the event loop; one that is still running at its deadline is cut off by
 * terminating its worker (`400`, the body is the problem, unless it ran for less than half the
 * deadline), one still queued at its deadline is refused with `503` and `Retry-After` (the
 * factory is the bottleneck). Workers run with a heap
 * cap, so a body that needs too much memory to parse is a `400` too, and the process stays small.
 */
import { Worker } from 'node:worker_threads';
import { FactoryError } from '../errors.js';
import { createSchematic, type CreatedSchematic } from './index.js';
import { parseSchematic } from './parse.js';
import type { ParseJob, ParseReply, WorkerMessage } from './parse-protocol.js';
import type { Schematic } from './types.js';

/** Parses schematics: request bodies (`create`) and stored canonical documents (`parse`). */
export interface SchematicParser {
  /** Parses a request body, canonicalises it and computes its ID (SCHEMATIC_INVALID on bad input). */
  create(body: Uint8Array): Promise<CreatedSchematic>;
  /** Parses a stored canonical document. */
  parse(canonical: string): Promise<Schematic>;
  /** Stops the workers; pending jobs fail with NOT_READY. */
  close(): Promise<void>;
}

/** Parses on the calling thread (unit tests, tools): no bounds beyond the parser's own. */
export const inlineParser: SchematicParser = {
  create: async (body) => createSchematic(body),
  parse: async (text) => parseSchematic(text),
  close: async () => undefined,
};

/** Options of {@link SchematicParsePool}. */
export interface ParsePoolOptions {
  /** Worker threads (each parses one document at a time). */
  workers: number;
  /** Jobs allowed to wait for a worker; more are refused with BUSY at once. */
  maxQueue: number;
  /** Deadline of one job, counted from when it was submitted (queue time included). */
  timeoutMs: number;
  /** Old-generation heap cap of one worker, MiB (default 128). */
  maxHeapMb?: number;
}

type Ok = Extract<ParseReply, { ok: true }>;
type JobInput = { op: 'create'; body: Uint8Array } | { op: 'parse'; text: string };

interface Pending {
  readonly job: ParseJob;
  readonly resolve: (r: Ok) => void;
  readonly reject: (e: FactoryError) => void;
  timer?: NodeJS.Timeout;
  /** When a worker took the job (performance.now()). */
  startedAt?: number;
  /** The pool's dispatch count when the job came, and whether a worker was parsing then (#expire). */
  readonly dispatchesAtSubmit: number;
  readonly behindBusy: boolean;
}

interface Slot {
  readonly worker: Worker;
  /** Loaded and listening (jobs go only to ready workers). */
  ready: boolean;
  busy?: Pending;
}

// The worker is the compiled `.js` beside this module, or the `.ts` one when run through tsx.
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './parse-worker.ts' : './parse-worker.js',
  import.meta.url,
);

function busy(): FactoryError {
  return new FactoryError('BUSY', 'too many schematics are being parsed right now; retry shortly', {
    headers: { 'Retry-After': '1' },
  });
}

/** A bounded pool of schematic-parsing worker threads. */
export class SchematicParsePool implements SchematicParser {
  readonly #o: Required<ParsePoolOptions>;
  readonly #slots = new Set<Slot>();
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #dispatches = 0;
  #closed = false;

  constructor(options: ParsePoolOptions) {
    this.#o = { maxHeapMb: 128, ...options, workers: Math.max(1, options.workers) };
  }

  /** Jobs running and waiting (for tests and metrics). */
  get load(): { running: number; queued: number; workers: number } {
    let running = 0;
    for (const s of this.#slots) if (s.busy) running++;
    return { running, queued: this.#queue.length, workers: this.#slots.size };
  }

  /**
   * Starts every worker now and resolves once they have loaded (or after `maxWaitMs`), so the
   * first parses do not wait for a worker to start.
   */
  async warm(maxWaitMs = 10_000): Promise<void> {
    while (!this.#closed && this.#slots.size < this.#o.workers) this.#spawn();
    const until = performance.now() + maxWaitMs;
    while (!this.#closed && performance.now() < until && [...this.#slots].some((s) => !s.ready)) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async create(body: Uint8Array): Promise<CreatedSchematic> {
    const r = await this.#submit({ op: 'create', body });
    if (r.canonical === undefined || r.schematicId === undefined) {
      throw new FactoryError('INTERNAL', 'schematic parse worker answered without canonical bytes');
    }
    return { schematic: deepFreeze(r.schematic), canonical: r.canonical, id: r.schematicId };
  }

  async parse(text: string): Promise<Schematic> {
    return deepFreeze((await this.#submit({ op: 'parse', text })).schematic);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#queue.splice(0)) this.#settle(p, new FactoryError('NOT_READY', 'shutting down'));
    const stops: Promise<number>[] = [];
    for (const s of this.#slots) {
      if (s.busy) this.#settle(s.busy, new FactoryError('NOT_READY', 'shutting down'));
      stops.push(s.worker.terminate());
    }
    this.#slots.clear();
    await Promise.allSettled(stops);
  }

  #submit(input: JobInput): Promise<Ok> {
    if (this.#closed) return Promise.reject(new FactoryError('NOT_READY', 'shutting down'));
    if (this.#queue.length >= this.#o.maxQueue && !this.#idleOrSpawnable()) return Promise.reject(busy());
    return new Promise<Ok>((resolve, reject) => {
      const pending: Pending = {
        job: { ...input, id: this.#nextId++ },
        resolve,
        reject,
        dispatchesAtSubmit: this.#dispatches,
        behindBusy: this.#anyBusy(),
      };
      pending.timer = setTimeout(() => this.#expire(pending), this.#o.timeoutMs);
      this.#queue.push(pending);
      this.#pump();
    });
  }

  #anyBusy(): boolean {
    for (const s of this.#slots) if (s.busy) return true;
    return false;
  }

  #idleOrSpawnable(): boolean {
    if (this.#slots.size < this.#o.workers) return true;
    for (const s of this.#slots) if (!s.busy) return true;
    return false;
  }

  /** Hands queued jobs to idle ready workers, starting workers up to the pool size. */
  #pump(): void {
    while (this.#queue.length > 0) {
      let slot: Slot | undefined;
      let starting = 0;
      for (const s of this.#slots) {
        if (!s.ready) starting++;
        else if (!s.busy) slot = s;
      }
      if (!slot) {
        // Enough workers on their way for the waiting jobs? Otherwise start one more.
        if (starting < this.#queue.length && this.#slots.size < this.#o.workers) this.#spawn();
        return;
      }
      const pending = this.#queue.shift()!;
      pending.startedAt = performance.now();
      this.#dispatches++;
      slot.busy = pending;
      slot.worker.ref(); // a job in flight keeps the process alive; an idle worker does not
      slot.worker.postMessage(pending.job);
    }
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_URL, {
      resourceLimits: { maxOldGenerationSizeMb: this.#o.maxHeapMb },
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { worker, ready: false };
    worker.unref();
    worker.on('message', (m: WorkerMessage) => {
      if ('ready' in m) {
        slot.ready = true;
        this.#pump();
      } else this.#done(slot, m);
    });
    worker.on('error', (e: Error) => this.#lost(slot, e));
    worker.on('exit', () => this.#lost(slot, undefined));
    this.#slots.add(slot);
    return slot;
  }

  #done(slot: Slot, reply: ParseReply): void {
    const p = slot.busy;
    if (!p || p.job.id !== reply.id) return;
    slot.busy = undefined;
    slot.worker.unref();
    if (reply.ok) this.#settle(p, undefined, reply);
    else this.#settle(p, new FactoryError(reply.code, reply.message));
    this.#pump();
  }

  /** A worker died (heap cap, crash) or was terminated: its job fails as the body's fault. */
  #lost(slot: Slot, e: Error | undefined): void {
    if (!this.#slots.delete(slot)) return;
    const p = slot.busy;
    slot.busy = undefined;
    if (p) {
      const oom = (e as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.#settle(
        p,
        new FactoryError(
          'SCHEMATIC_INVALID',
          oom
            ? 'schematic needs too much memory to parse'
            : 'schematic could not be parsed (the parser stopped); simplify the document',
          { cause: e },
        ),
      );
    }
    if (!this.#closed) this.#replace();
  }

  /** Starts a replacement for a lost worker at once, so the next job finds it loaded. */
  #replace(): void {
    if (this.#slots.size < this.#o.workers) this.#spawn();
    this.#pump();
  }

  #expire(p: Pending): void {
    const queued = this.#queue.indexOf(p);
    if (queued >= 0) {
      // Waiting only for workers to start (nothing was handed to a worker since it came, and
      // none is parsing): the pool is not busy, it is starting; keep waiting.
      if (!p.behindBusy && this.#dispatches === p.dispatchesAtSubmit && !this.#anyBusy()) {
        p.timer = setTimeout(() => this.#expire(p), this.#o.timeoutMs);
        return;
      }
      this.#queue.splice(queued, 1);
      this.#settle(p, busy());
      return;
    }
    for (const slot of this.#slots) {
      if (slot.busy !== p) continue;
      // Stuck on this body: the only way to stop a synchronous parse is to end its thread.
      this.#slots.delete(slot);
      slot.busy = undefined;
      void slot.worker.terminate();
      // A job that spent most of its time queued did not get a fair try: the factory was busy.
      const ran = performance.now() - (p.startedAt ?? 0);
      this.#settle(
        p,
        ran < this.#o.timeoutMs / 2
          ? busy()
          : new FactoryError(
              'SCHEMATIC_INVALID',
              `schematic could not be parsed within ${this.#o.timeoutMs} ms: the document is too complex`,
            ),
      );
      this.#replace();
      return;
    }
  }

  #settle(p: Pending, error: FactoryError | undefined, value?: Ok): void {
    clearTimeout(p.timer);
    if (error) p.reject(error);
    else p.resolve(value!);
  }
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const child of Object.values(v as Record<string, unknown>)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}
