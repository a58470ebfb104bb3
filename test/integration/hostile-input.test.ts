/**
 * Hostile request bodies (issue 11) against a factory on a loopback socket, in this process: while
 * the shapes are posted, event-loop delay (`perf_hooks.monitorEventLoopDelay`) and `/healthz`
 * latency are measured. Bounds: no event-loop stall over 50 ms, `/healthz` stays fast, every body
 * within the limit is answered within 1 s with a 4xx or a 503 (never a 500).
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

describe('hostile schematic bodies do not stall the factory', { timeout: 120_000 }, () => {
  let t: TestFactory;
  let url: string;
  const healthz: number[] = [];
  let probing = true;
  let probe: Promise<void> | undefined;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  let baselineMs = 0;

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

  before(async () => {
    t = await makeTestFactory();
    url = (await t.factory.listen()).url;
    // Warm the parse workers (their first start is not what is measured).
    await post('customization: {}\n');
    loop.enable();
    probe = startProbe();
    // What this machine imposes anyway (other processes on the shared cores), for the report.
    await new Promise((r) => setTimeout(r, 1000));
    baselineMs = loop.max / 1e6;
    loop.reset();
  });

  after(async () => {
    probing = false;
    await probe;
    loop.disable();
    await t?.cleanup();
  });

  async function post(body: string): Promise<Timed> {
    const t0 = performance.now();
    const res = await fetch(`${url}/schematics`, { method: 'POST', body });
    const text = await res.text();
    return { status: res.status, ms: performance.now() - t0, body: text };
  }

  it('answers each shape within 1 s with a 4xx or 503', async () => {
    for (const [name, body] of Object.entries(SHAPES)) {
      const r = await post(body);
      process.stderr.write(
        `[hostile] ${name}: ${r.status} in ${r.ms.toFixed(0)} ms: ${r.body.trim().slice(0, 90)}\n`,
      );
      assert.ok(r.status === 400 || r.status === 503, `${name}: ${r.status} ${r.body}`);
      assert.ok(r.ms < 1000, `${name}: answered after ${r.ms.toFixed(0)} ms`);
    }
  });

  it('answers four of the slowest shape in parallel within 1 s each', async () => {
    const body = SHAPES['flow sequence of empty items']!;
    // Distinct bodies: a repeated one is answered from the rejection cache without parsing.
    const all = await Promise.all([0, 1, 2, 3].map((i) => post(`${body}${' '.repeat(i + 1)}`)));
    for (const r of all) {
      assert.ok(r.status === 400 || r.status === 503, `${r.status} ${r.body}`);
      assert.ok(r.ms < 1000, `answered after ${r.ms.toFixed(0)} ms`);
      if (r.status === 503) assert.match(r.body, /retry/);
    }
    process.stderr.write(
      `[hostile] 4 parallel: ${all.map((r) => `${r.status}/${r.ms.toFixed(0)}ms`).join(' ')}\n`,
    );
  });

  it('a repeated hostile body is refused from the rejection cache, without parsing', async () => {
    const body = SHAPES['}×200k']!;
    const r = await post(body);
    assert.equal(r.status, 400);
    assert.match(r.body, /flow-map-end/);
  });

  it('still accepts a large valid schematic, and a schematic naming one extension 1000 times', async () => {
    const big = await post(LARGE_VALID);
    assert.equal(big.status, 201, big.body);
    // Stored like upstream stores it; refused at build time (see the build-amplification test).
    const many = await post(
      `customization:\n  systemExtensions:\n    officialExtensions:\n${'      - siderolabs/amd-ucode\n'.repeat(1000)}`,
    );
    assert.equal(many.status, 201, many.body);
  });

  it('kept the event loop and /healthz responsive throughout', () => {
    const maxDelayMs = loop.max / 1e6;
    const worstHealthz = Math.max(...healthz);
    process.stderr.write(
      `[hostile] event-loop delay max ${maxDelayMs.toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms ` +
        `(idle baseline max ${baselineMs.toFixed(1)} ms); /healthz ${healthz.length} probes, ` +
        `max ${worstHealthz.toFixed(1)} ms\n`,
    );
    assert.ok(healthz.length > 10, 'the probe ran');
    // Parsing must not add a stall over 50 ms to what the shared machine already imposes while idle.
    assert.ok(
      maxDelayMs < 50 + baselineMs,
      `event loop blocked for ${maxDelayMs.toFixed(1)} ms (idle baseline ${baselineMs.toFixed(1)} ms)`,
    );
    assert.ok(worstHealthz < 250 + baselineMs, `/healthz took ${worstHealthz.toFixed(0)} ms`);
  });
});
