/**
 * Hostile request bodies (issue 11) against a factory on a loopback socket, in this process: while
 * the shapes are posted, event-loop delay (`perf_hooks.monitorEventLoopDelay`) and `/healthz`
 * latency are measured. Bounds: no event-loop stall over 50 ms, `/healthz` stays fast, every body
 * within the limit is answered within 1 s with a 4xx or a 503 (never a 500).
 *
 * The machine is shared (2 cores, other test files and other people's processes): a round whose
 * bounds fail is repeated, up to three rounds, with fresh bodies. Noise from elsewhere passes in
 * some round; a parser that blocks the event loop (4.9 s per body before) fails every round.
 */
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { makeTestFactory, type TestFactory } from '../helpers/factory.js';

const KIB = 1024;

/** The shapes measured in the issue (each just under the 256 KiB body limit's 195 KiB). */
const SHAPES: Record<string, string> = {
  'flow sequence of empty items': `customization: {extraKernelArgs: [${','.repeat(195 * KIB)}]}`,
  '}×200k': '}'.repeat(200_000),
  '? ×100k': '? '.repeat(100_000),
  '"×200k': '"'.repeat(200_000),
  '&a ×80k': '&a '.repeat(80_000),
  '!a ×80k': '!a '.repeat(80_000),
};

/** A large valid schematic: 2000 kernel args (53 KiB). */
const LARGE_VALID = `customization:\n  extraKernelArgs:\n${'    - console=ttyS0,115200\n'.repeat(2000)}`;

interface Timed {
  status: number;
  ms: number;
  body: string;
}

describe('hostile schematic bodies do not stall the factory', { timeout: 180_000 }, () => {
  let t: TestFactory;
  let url: string;
  let healthz: number[] = [];
  let probing = true;
  let probe: Promise<void> | undefined;
  const loop = monitorEventLoopDelay({ resolution: 5 });

  /** Polls /healthz every 20 ms, recording latencies, until `probing` is cleared. */
  const startProbe = async (): Promise<void> => {
    while (probing) {
      const t0 = performance.now();
      const res = await fetch(`${url}/healthz`);
      await res.arrayBuffer();
      healthz.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  async function post(body: string): Promise<Timed> {
    const t0 = performance.now();
    const res = await fetch(`${url}/schematics`, { method: 'POST', body });
    const text = await res.text();
    return { status: res.status, ms: performance.now() - t0, body: text };
  }

  /** Waits until a trivial parse succeeds (workers cut off at a deadline have been replaced). */
  async function settled(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      if ((await post(`customization: {extraKernelArgs: [settle=${i}]}`)).status === 201) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  before(async () => {
    t = await makeTestFactory();
    url = (await t.factory.listen()).url;
    await settled(); // the parse workers have started: their start is not what is measured
    loop.enable();
    probe = startProbe();
  });

  after(async () => {
    probing = false;
    await probe;
    loop.disable();
    await t?.cleanup();
  });

  /** One round: every shape in turn, then four of the slowest at once; returns what failed. */
  async function round(n: number): Promise<string[]> {
    await settled();
    loop.reset();
    healthz = [];
    const failures: string[] = [];
    // A per-round suffix: a repeated body would be answered from the rejection cache.
    const pad = ' '.repeat(n);
    const check = (name: string, r: Timed): void => {
      process.stderr.write(`[hostile] round ${n} ${name}: ${r.status} in ${r.ms.toFixed(0)} ms\n`);
      if (r.status !== 400 && r.status !== 503) failures.push(`${name}: ${r.status} ${r.body}`);
      if (r.status === 503 && !/retry/.test(r.body)) failures.push(`${name}: 503 without a retry hint`);
      if (r.ms >= 1000) failures.push(`${name}: answered after ${r.ms.toFixed(0)} ms`);
    };
    for (const [name, body] of Object.entries(SHAPES)) check(name, await post(`${body}${pad}`));
    const slowest = SHAPES['flow sequence of empty items']!;
    const all = await Promise.all([1, 2, 3, 4].map((i) => post(`${slowest}${pad}${'\n'.repeat(i)}`)));
    all.forEach((r, i) => check(`parallel ${i + 1}`, r));
    const maxDelayMs = loop.max / 1e6;
    const worstHealthz = Math.max(...healthz);
    process.stderr.write(
      `[hostile] round ${n}: event-loop delay max ${maxDelayMs.toFixed(1)} ms, p99 ` +
        `${(loop.percentile(99) / 1e6).toFixed(1)} ms; /healthz ${healthz.length} probes, max ${worstHealthz.toFixed(1)} ms\n`,
    );
    if (healthz.length < 10) failures.push('the /healthz probe did not run');
    if (maxDelayMs >= 50) failures.push(`event loop blocked for ${maxDelayMs.toFixed(1)} ms`);
    if (worstHealthz >= 250) failures.push(`/healthz took ${worstHealthz.toFixed(0)} ms`);
    return failures;
  }

  it('answers every shape within 1 s with a 4xx or 503; event loop and /healthz stay responsive', async () => {
    const rounds: string[][] = [];
    for (let n = 1; n <= 3; n++) {
      const failures = await round(n);
      if (failures.length === 0) return;
      rounds.push(failures);
    }
    assert.fail(`every round failed:\n${rounds.map((f, i) => `round ${i + 1}: ${f.join('; ')}`).join('\n')}`);
  });

  it('a repeated hostile body is refused from the rejection cache, without parsing', async () => {
    const body = `${SHAPES['}×200k']!}\n\n`;
    let first = await post(body);
    // A 503 (parsers busy) says nothing about the body and is not remembered: ask again.
    for (let i = 0; i < 5 && first.status === 503; i++) first = await post(body);
    assert.equal(first.status, 400, first.body);
    const again = await post(body);
    assert.equal(again.status, 400);
    assert.equal(again.body, first.body, 'the same rejection, from the cache');
  });

  it('still accepts a large valid schematic, and a schematic naming one extension 1000 times', async () => {
    await settled();
    const big = await post(LARGE_VALID);
    assert.equal(big.status, 201, big.body);
    // Stored like upstream stores it; refused at build time (see the build-amplification test).
    const many = await post(
      `customization:\n  systemExtensions:\n    officialExtensions:\n${'      - siderolabs/amd-ucode\n'.repeat(1000)}`,
    );
    assert.equal(many.status, 201, many.body);
  });
});
