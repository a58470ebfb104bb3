/**
 * The mixed load of the soak (and of the replicas under load): at a steady rate (open loop: one
 * operation per tick whatever the answers take), a weighted mix of schematic creates and reads,
 * cached downloads whole and by Range, PXE scripts, checksums, conditional GETs (If-None-Match,
 * If-Range), clients that abort a download, and — on their own clock — cold builds and aborted
 * cold builds. Every answer is checked against what is known about it (status, bytes, ETag), and
 * classified: an unexpected status, a network error, a timeout or wrong bytes is an error.
 */
import { createHash } from 'node:crypto';
import { Agent } from 'node:http';
import { etagOf, send, text, wholeAndVerified, type Outcome } from './http.js';

/** A cached asset the mix downloads (its bytes are known). */
export interface KnownAsset {
  /** `/image/<id>/<version>/<path>` */
  readonly path: string;
  readonly name: string;
  readonly body: Buffer;
  readonly sha256: string;
}

/** What the mix needs to know about the factories it loads. */
export interface MixFixture {
  readonly assets: readonly KnownAsset[];
  /** PXE script paths (`/pxe/...`) that must answer 200. */
  readonly pxe: readonly string[];
  /** Schematic IDs known to exist before the mix starts. */
  readonly schematics: readonly string[];
  /** Builds one new cold asset: the schematic YAML for tag `n` and the asset path under it. */
  readonly cold: (n: number) => { yaml: string; version: string; path: string };
}

/** Error classes; `ok` and `aborted` (intended) are not errors. */
export type OpClass = 'ok' | 'aborted' | 'network' | 'timeout' | 'status' | 'wrong bytes';

/** One operation's outcome. */
export interface OpResult {
  readonly route: string;
  readonly target: string;
  /** ms since the mix started. */
  readonly at: number;
  readonly ms: number;
  readonly cls: OpClass;
  readonly detail?: string;
  /** Schematic reads: the target that created the schematic (`fixture` when it existed before). */
  readonly origin?: string;
}

/** One factory the mix sends to. */
export interface MixTarget {
  readonly name: string;
  /** Current base URL (a restarted factory keeps its port). */
  url(): string;
  /** False while the target is deliberately down (its failures are then not counted). */
  up(): boolean;
}

type Op = (t: MixTarget) => Promise<Omit<OpResult, 'target' | 'at'>>;

function classify(o: Outcome, expected: number): OpClass {
  if (o.status === 0) return /timeout/.test(o.error ?? '') ? 'timeout' : 'network';
  if (o.status !== expected) return 'status';
  if (!o.complete) return 'network';
  return 'ok';
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A running mix. */
export class Mix {
  readonly results: OpResult[] = [];
  /** Ticks skipped because too many operations were still in flight. */
  shed = 0;
  #inFlight = 0;
  #n = 0;
  /** Cold builds started: picks the kind (the fixture rotates through its kinds). */
  #coldN = 0;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 16 });
  readonly #t0 = performance.now();
  readonly #ops: { weight: number; op: Op }[];
  /** Schematic ID → the target that created it. */
  readonly #known = new Map<string, string>();

  constructor(
    readonly targets: readonly MixTarget[],
    readonly fixture: MixFixture,
    readonly random: () => number,
    readonly maxInFlight = 64,
  ) {
    for (const id of fixture.schematics) this.#known.set(id, 'fixture');
    this.#ops = [
      { weight: 14, op: (t) => this.#create(t) },
      { weight: 10, op: (t) => this.#readSchematic(t) },
      { weight: 20, op: (t) => this.#download(t) },
      { weight: 14, op: (t) => this.#range(t) },
      { weight: 10, op: (t) => this.#pxe(t) },
      { weight: 8, op: (t) => this.#notModified(t) },
      { weight: 5, op: (t) => this.#ifRange(t) },
      { weight: 5, op: (t) => this.#checksum(t) },
      { weight: 5, op: (t) => this.#abortDownload(t) },
    ];
  }

  #pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.random() * xs.length)] as T;
  }

  #asset(): KnownAsset {
    return this.#pick(this.fixture.assets);
  }

  async #create(t: MixTarget) {
    const yaml = `customization:\n  extraKernelArgs: [soak.n=${this.#n++}-${Math.floor(this.random() * 1e9)}]\n`;
    const o = await send(`${t.url()}/schematics`, {
      method: 'POST',
      body: yaml,
      keepBody: true,
      agent: this.#agent,
    });
    let cls = classify(o, 201);
    if (cls === 'ok') {
      const { id, schematic } = JSON.parse(text(o)) as { id: string; schematic: string };
      if (sha256(schematic) !== id) cls = 'wrong bytes';
      else this.#known.set(id, t.name);
    }
    return {
      route: 'POST /schematics',
      ms: o.ms,
      cls,
      ...(cls !== 'ok' ? { detail: `${o.status} ${o.error ?? ''}` } : {}),
    };
  }

  async #readSchematic(t: MixTarget) {
    const id = this.#pick([...this.#known.keys()]);
    const origin = this.#known.get(id) ?? 'fixture';
    const o = await send(`${t.url()}/schematics/${id}`, { agent: this.#agent });
    let cls = classify(o, 200);
    if (cls === 'ok' && o.sha256 !== id) cls = 'wrong bytes';
    return {
      route: 'GET /schematics/:id',
      ms: o.ms,
      cls,
      origin,
      ...(cls !== 'ok' ? { detail: `${o.status} ${id}` } : {}),
    };
  }

  async #download(t: MixTarget) {
    const a = this.#asset();
    const o = await send(`${t.url()}${a.path}`, { agent: this.#agent, timeoutMs: 120_000 });
    let cls = classify(o, 200);
    if (cls === 'ok' && !(wholeAndVerified(o) && o.sha256 === a.sha256)) cls = 'wrong bytes';
    return {
      route: 'GET asset (cached)',
      ms: o.ms,
      cls,
      ...(cls !== 'ok' ? { detail: `${o.status} ${a.path}` } : {}),
    };
  }

  async #range(t: MixTarget) {
    const a = this.#asset();
    const start = Math.floor(this.random() * (a.body.length - 1));
    const end = Math.min(a.body.length - 1, start + Math.floor(this.random() * 4 * 1024 * 1024));
    const o = await send(`${t.url()}${a.path}`, {
      headers: { range: `bytes=${start}-${end}` },
      keepBody: true,
      agent: this.#agent,
    });
    let cls = classify(o, 206);
    if (
      cls === 'ok' &&
      (o.headers['content-range'] !== `bytes ${start}-${end}/${a.body.length}` ||
        !o.body?.equals(a.body.subarray(start, end + 1)))
    )
      cls = 'wrong bytes';
    return {
      route: 'GET asset Range',
      ms: o.ms,
      cls,
      ...(cls !== 'ok' ? { detail: `${o.status} ${a.path} ${start}-${end}` } : {}),
    };
  }

  async #pxe(t: MixTarget) {
    const path = this.#pick(this.fixture.pxe);
    const o = await send(`${t.url()}${path}`, { keepBody: true, agent: this.#agent });
    let cls = classify(o, 200);
    if (cls === 'ok' && !text(o).startsWith('#!ipxe')) cls = 'wrong bytes';
    return { route: 'GET /pxe', ms: o.ms, cls, ...(cls !== 'ok' ? { detail: `${o.status} ${path}` } : {}) };
  }

  async #notModified(t: MixTarget) {
    const a = this.#asset();
    const o = await send(`${t.url()}${a.path}`, {
      headers: { 'if-none-match': `"${a.sha256}"` },
      agent: this.#agent,
    });
    let cls = classify(o, 304);
    if (cls === 'ok' && (o.bytes !== 0 || etagOf(o) !== a.sha256)) cls = 'wrong bytes';
    return {
      route: 'GET asset If-None-Match',
      ms: o.ms,
      cls,
      ...(cls !== 'ok' ? { detail: `${o.status}` } : {}),
    };
  }

  async #ifRange(t: MixTarget) {
    const a = this.#asset();
    const stale = this.random() < 0.5;
    const o = await send(`${t.url()}${a.path}`, {
      headers: { range: 'bytes=100-', 'if-range': stale ? '"0000"' : `"${a.sha256}"` },
      agent: this.#agent,
      timeoutMs: 120_000,
    });
    let cls = classify(o, stale ? 200 : 206);
    const want = stale ? a.sha256 : sha256(a.body.subarray(100));
    if (cls === 'ok' && o.sha256 !== want) cls = 'wrong bytes';
    return {
      route: 'GET asset If-Range',
      ms: o.ms,
      cls,
      ...(cls !== 'ok' ? { detail: `${o.status} stale=${stale}` } : {}),
    };
  }

  async #checksum(t: MixTarget) {
    const a = this.#asset();
    const o = await send(`${t.url()}${a.path}.sha256`, { keepBody: true, agent: this.#agent });
    let cls = classify(o, 200);
    if (cls === 'ok' && text(o) !== `${a.sha256}  ${a.name}\n`) cls = 'wrong bytes';
    return { route: 'GET asset.sha256', ms: o.ms, cls, ...(cls !== 'ok' ? { detail: `${o.status}` } : {}) };
  }

  async #abortDownload(t: MixTarget) {
    const a = this.#asset();
    // A fresh connection: the cut must not disturb the pooled ones.
    const o = await send(`${t.url()}${a.path}`, { abortAfterBytes: 64 * 1024 });
    const cls: OpClass =
      o.status === 200 && o.error === 'aborted by the client'
        ? 'aborted'
        : o.status === 200 && o.complete
          ? 'ok'
          : classify(o, 200);
    return {
      route: 'GET asset, client aborts',
      ms: o.ms,
      cls,
      ...(cls !== 'aborted' && cls !== 'ok' ? { detail: `${o.status} ${o.error ?? ''}` } : {}),
    };
  }

  /** A cold build: a new schematic and one of its assets, verified; `abortMs` leaves early instead. */
  async cold(t: MixTarget, abortMs?: number): Promise<void> {
    const at = performance.now() - this.#t0;
    const spec = this.fixture.cold(this.#coldN++);
    const created = await send(`${t.url()}/schematics`, { method: 'POST', body: spec.yaml, keepBody: true });
    if (created.status !== 201) {
      this.#record(t, at, {
        route: `cold build ${spec.path}`,
        ms: created.ms,
        cls: classify(created, 201),
        detail: `POST ${created.status}`,
      });
      return;
    }
    const { id } = JSON.parse(text(created)) as { id: string };
    const o = await send(`${t.url()}/image/${id}/${spec.version}/${spec.path}`, {
      timeoutMs: 300_000,
      ...(abortMs !== undefined ? { abortAfterMs: abortMs } : {}),
    });
    if (abortMs !== undefined) {
      const cls: OpClass =
        o.error === 'aborted by the client' ? 'aborted' : wholeAndVerified(o) ? 'ok' : classify(o, 200);
      this.#record(t, at, {
        route: 'cold build, client aborts',
        ms: o.ms,
        cls,
        ...(cls !== 'aborted' && cls !== 'ok' ? { detail: `${o.status} ${o.error ?? ''}` } : {}),
      });
      return;
    }
    let cls = classify(o, 200);
    if (cls === 'ok' && !wholeAndVerified(o)) cls = 'wrong bytes';
    this.#record(t, at, {
      route: `cold build ${spec.path}`,
      ms: o.ms,
      cls,
      ...(cls !== 'ok' ? { detail: `${o.status} ${spec.path} ${o.error ?? ''}` } : {}),
    });
  }

  #record(t: MixTarget, at: number, r: Omit<OpResult, 'target' | 'at'>): void {
    // A target deliberately down: its failures are the kill's, not the factory's.
    if (!t.up() && r.cls !== 'ok') return;
    this.results.push({ ...r, target: t.name, at });
  }

  /** One tick: a weighted pick, launched without waiting (the rate stays steady). */
  tick(): void {
    if (this.#inFlight >= this.maxInFlight) {
      this.shed++;
      return;
    }
    const total = this.#ops.reduce((n, o) => n + o.weight, 0);
    let r = this.random() * total;
    const pick = this.#ops.find((o) => (r -= o.weight) < 0) ?? this.#ops[0]!;
    const targets = this.targets.filter((t) => t.up());
    if (targets.length === 0) return;
    const t = this.#pick(targets);
    const at = performance.now() - this.#t0;
    this.#inFlight++;
    pick
      .op(t)
      .then((res) => this.#record(t, at, res))
      .catch((e: unknown) =>
        this.#record(t, at, { route: 'harness', ms: 0, cls: 'network', detail: String(e) }),
      )
      .finally(() => this.#inFlight--);
  }

  /**
   * Runs for `ms`: `rate` operations per second, a cold build every `coldEveryMs` (every fourth
   * of them aborted by its client after 150 ms); resolves when everything launched has finished.
   * `onLoadEnd` runs when the last tick has been sent (before the drain).
   */
  async run(
    ms: number,
    rate: number,
    coldEveryMs: number,
    signal?: AbortSignal,
    onLoadEnd?: () => void,
  ): Promise<void> {
    const colds: Promise<void>[] = [];
    let coldN = 0;
    const tick = setInterval(() => this.tick(), 1000 / rate);
    const coldTimer = setInterval(() => {
      const targets = this.targets.filter((t) => t.up());
      if (targets.length === 0) return;
      const t = this.#pick(targets);
      // Every fourth leaves after 150 ms: with three kinds in rotation, each kind gets aborted too.
      colds.push(this.cold(t, ++coldN % 4 === 0 ? 150 : undefined));
    }, coldEveryMs);
    await new Promise<void>((resolve) => {
      const done = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        clearTimeout(done);
        resolve();
      });
    });
    clearInterval(tick);
    clearInterval(coldTimer);
    onLoadEnd?.();
    while (this.#inFlight > 0) await new Promise((r) => setTimeout(r, 50));
    await Promise.all(colds);
    this.#agent.destroy();
  }

  /** Milliseconds since the mix was created. */
  elapsed(): number {
    return performance.now() - this.#t0;
  }
}
