/**
 * Benchmark: the web wizard and the metrics hooks, each factory in its own process over the
 * fixture releases (info logs to /dev/null, like the other HTTP benchmarks).
 *
 * 1. Wizard pages per second: every page of the metal walk (target → … → final, the final page
 *    creating its schematic, which the schematic service then answers from its cache) as one mix
 *    per connection, and the extensions page and the final page alone — against `GET
 *    /schematics/:id` in the same process and run.
 * 2. The metrics hooks' cost on the asset route: `GET /image/:id/:v/cmdline-metal-amd64` (a small
 *    cached asset, so the per-request cost dominates) on a factory with metrics and on one with
 *    `metrics.listen` empty; BENCH_ROUNDS (3) rounds in rotating order, medians. Goal ≥ 0.95×.
 *    Requests per second move with whatever else the shared machine runs; the server's CPU time
 *    per request (from /proc) is the steadier figure and is printed beside it, and so is the
 *    CPU per request of the same route through `inject()` on two in-process factories (no
 *    sockets, no load generator competing for the cores), best of BENCH_INJECT_ROUNDS (8) after two warm-up rounds (the JIT).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../src/config/load.js';
import { createFactory, type Factory } from '../src/factory.js';
import { fixtureReleases } from '../test/helpers/fixture-factory.js';
import { startFactoryProcess, type FactoryProcess } from './lib/factory-process.js';
import { cpuMs } from './lib/cpu.js';
import { load } from './lib/load.js';
import { envNumber, figure, median } from './lib/report.js';

const SECONDS = envNumber('BENCH_SECONDS', 5);
const ROUNDS = envNumber('BENCH_ROUNDS', 3);
const VERSION = process.env.BENCH_VERSION ?? 'v1.10.6';
const INJECT_ROUNDS = envNumber('BENCH_INJECT_ROUNDS', 8);
const INJECT_REQUESTS = envNumber('BENCH_INJECT_REQUESTS', 2000);

const fx = await fixtureReleases();
const dirs: string[] = [];
async function start(metrics: boolean): Promise<FactoryProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'if-bench-ui-'));
  dirs.push(dataDir);
  return startFactoryProcess({
    IMAGE_FACTORY_DATA_DIR: dataDir,
    IMAGE_FACTORY_LOG_LEVEL: 'info',
    IMAGE_FACTORY__artifacts__source: 'oci-layout',
    IMAGE_FACTORY__artifacts__layoutDir: fx.root,
    IMAGE_FACTORY__metrics__listen: metrics ? '127.0.0.1:0' : '',
  });
}

/** GETs `url`, failing the benchmark unless it answers `status`. */
async function check(url: string, status = 200): Promise<string> {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== status) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 300)}`);
  return text;
}

const withMetrics = await start(true);
const without = await start(false);
try {
  const v = VERSION.slice(1);
  const choice = `target=metal&version=${v}&arch=amd64&extensions=siderolabs/amd-ucode&extensions=siderolabs/intel-ucode&cmdline=nolapic`;
  const walk = [
    '/',
    `/?target=metal&step=version`,
    `/?target=metal&version=${v}&step=arch`,
    `/?target=metal&version=${v}&arch=amd64&step=extensions`,
    `/?${choice}&step=customize`,
    `/?${choice}&step=final`,
  ];
  for (const p of walk) await check(`${withMetrics.url}${p}`);
  const final = await check(`${withMetrics.url}${walk[5]}`);
  const id = /id="schematic-id">([a-f0-9]{64})</.exec(final)?.[1];
  if (!id) throw new Error('final page without a schematic ID');
  const asset = `/image/${id}/${VERSION}/cmdline-metal-amd64`;
  for (const f of [withMetrics, without]) {
    await check(`${f.url}${walk[5]}`); // creates the schematic in that factory too
    await check(`${f.url}${asset}`); // builds and caches the asset
  }

  // 1. Wizard pages vs GET /schematics/:id, same process, same run.
  const get = await load(`${withMetrics.url}/schematics/${id}`, { seconds: SECONDS });
  const mix = await load(withMetrics.url, { seconds: SECONDS, paths: walk });
  const ext = await load(`${withMetrics.url}${walk[3]}`, { seconds: SECONDS });
  const fin = await load(`${withMetrics.url}${walk[5]}`, { seconds: SECONDS });
  console.log(`ui: ${SECONDS}s per run, 32 connections, Talos ${VERSION}, fixture catalog`);
  figure('wizard pages, 6-step metal walk (mix)', mix.rps, get.rps, 'req/s');
  figure('wizard extensions page', ext.rps, get.rps, 'req/s');
  figure('wizard final page (schematic creation cached)', fin.rps, get.rps, 'req/s');
  console.log(
    `  (reference: GET /schematics/:id on the same factory; p99 ${get.p99ms} ms vs final ${fin.p99ms} ms)`,
  );

  // 2. Metrics hooks on the asset route: with vs without, rotating order, medians.
  const on: number[] = [];
  const off: number[] = [];
  const cpuOn: number[] = [];
  const cpuOff: number[] = [];
  let bad = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [true, false] : [false, true];
    for (const m of order) {
      const f = m ? withMetrics : without;
      const cpu0 = await cpuMs(f.pid);
      const res = await load(`${f.url}${asset}`, { seconds: SECONDS });
      const usPerRequest = (((await cpuMs(f.pid)) - cpu0) * 1000) / Math.max(res.total, 1);
      (m ? on : off).push(res.rps);
      (m ? cpuOn : cpuOff).push(usPerRequest);
      bad += res.errors + res.non2xx;
    }
  }
  figure(`asset route (cmdline) with metrics, median of ${ROUNDS}`, median(on), median(off), 'req/s', {
    goal: { min: 0.95 },
  });
  console.log(
    `  rounds with: ${on.map((x) => x.toFixed(0)).join(', ')}; without: ${off.map((x) => x.toFixed(0)).join(', ')}`,
  );
  figure('server CPU per request with metrics (reference: without)', median(cpuOn), median(cpuOff), 'µs', {
    goal: { max: 1.05 },
    digits: 1,
  });
  // 3. The same route in-process: CPU per request through inject(), best of several rounds.
  const inProcess = async (metrics: boolean): Promise<Factory> => {
    const dataDir = await mkdtemp(join(tmpdir(), 'if-bench-ui-'));
    dirs.push(dataDir);
    return createFactory(
      validateConfig({
        dataDir,
        log: { level: 'silent' },
        http: { listen: '127.0.0.1:0' },
        artifacts: { source: 'oci-layout', layoutDir: fx.root },
        metrics: { listen: metrics ? '127.0.0.1:0' : '' },
      }),
    );
  };
  const pair = [await inProcess(true), await inProcess(false)];
  try {
    for (const f of pair) {
      await f.app.inject({ url: walk[5]! });
      if ((await f.app.inject({ url: asset })).statusCode !== 200) throw new Error('in-process asset route');
    }
    const best = [Infinity, Infinity];
    for (let r = -2; r < INJECT_ROUNDS; r++) {
      for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
        // Rotating order: neither factory always runs on the warmer (or busier) side.
        const f = pair[i]!;
        const c0 = process.cpuUsage();
        for (let n = 0; n < INJECT_REQUESTS; n += 50) {
          await Promise.all(Array.from({ length: 50 }, () => f.app.inject({ url: asset })));
        }
        const c = process.cpuUsage(c0);
        if (r >= 0) best[i] = Math.min(best[i]!, (c.user + c.system) / INJECT_REQUESTS);
      }
    }
    figure(
      `in-process (inject) CPU per request with metrics, best of ${INJECT_ROUNDS}`,
      best[0]!,
      best[1]!,
      'µs',
      { goal: { max: 1.05 }, digits: 1 },
    );
  } finally {
    for (const f of pair) await f.close();
  }
  console.log(
    `  errors + non-2xx over all runs: ${bad + get.errors + mix.errors + mix.non2xx + ext.non2xx + fin.non2xx}`,
  );
} finally {
  await withMetrics.stop();
  await without.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}
