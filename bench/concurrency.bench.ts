/**
 * Benchmark: N (default 100) concurrent cold requests for one initramfs with three extensions, over
 * real loopback connections to a factory listening on 127.0.0.1:0 with a fresh data dir. Prints how
 * many builds ran (single-flight: must be 1), whether every body is byte-identical (sha256), and
 * the wall time against a single cold request on another fresh factory (the reference: ideally
 * N waiters cost no more than one). Medians over BENCH_RUNS fresh factories per side. The client
 * runs in the factory's process (the brief wants `runner.stats`), so its sha256 of every body
 * shares the event loop; the warm round (same N requests answered from the cache) shows that
 * delivery share.
 */
import { fixtureReleases, makeFixtureFactory } from '../test/helpers/fixture-factory.js';
import { downloadAll, type Download } from './lib/http-client.js';
import { envNumber, figure, median, timed } from './lib/report.js';

const N = envNumber('BENCH_CONCURRENCY', 100);
const RUNS = envNumber('BENCH_RUNS', 3);
const VERSION = process.env.BENCH_VERSION ?? 'v1.10.6';
const SCHEMATIC = `customization:
  systemExtensions:
    officialExtensions: [siderolabs/amd-ucode, siderolabs/realtek-firmware, siderolabs/vfat-module]
`;

/** One cold round: fresh factory, `n` simultaneous GETs of the initramfs. */
async function coldRound(
  n: number,
): Promise<{ ms: number; downloads: Download[]; builds: number; failures: number; warmMs: number }> {
  const { t } = await makeFixtureFactory();
  try {
    const { url } = await t.factory.listen();
    const res = await fetch(`${url}/schematics`, { method: 'POST', body: SCHEMATIC });
    if (res.status !== 201) throw new Error(`POST /schematics: ${res.status} ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    const path = `${url}/image/${id}/${VERSION}/initramfs-amd64.xz`;
    const { ms, value } = await timed(() => downloadAll(path, n, { hash: true }));
    const { builds, failures } = t.factory.runner.stats;
    // The same round again from the cache: what delivery (and client hashing) alone costs.
    const warm = await timed(() => downloadAll(path, n, { hash: true }));
    if (warm.value.some((d) => d.status !== 200 || d.sha256 !== value[0]?.sha256))
      throw new Error('warm round: a body differs');
    return { ms, downloads: value, builds, failures, warmMs: warm.ms };
  } finally {
    await t.cleanup();
  }
}

const fxStart = performance.now();
await fixtureReleases();
console.log(`fixtures ready in ${((performance.now() - fxStart) / 1000).toFixed(1)} s (not measured)`);

const single: number[] = [];
const many: number[] = [];
const warm: number[] = [];
let builds: number[] = [];
let identical = true;
let okCount = 0;
let perRequest: number[] = [];
let digest = '';
for (let i = 0; i < RUNS; i++) {
  const one = await coldRound(1);
  if (one.downloads[0]?.status !== 200)
    throw new Error(`single cold request: status ${one.downloads[0]?.status}`);
  single.push(one.ms);
  const round = await coldRound(N);
  many.push(round.ms);
  warm.push(round.warmMs);
  builds.push(round.builds);
  const sums = new Set(round.downloads.map((d) => `${d.status} ${d.sha256 ?? ''}`));
  identical &&= sums.size === 1 && round.downloads[0]?.status === 200;
  okCount += round.downloads.filter((d) => d.status === 200).length;
  perRequest = perRequest.concat(round.downloads.map((d) => d.ms));
  digest = round.downloads[0]?.sha256 ?? '';
  if (one.downloads[0]?.sha256 !== digest) identical = false;
}
builds = [...new Set(builds)];
console.log(`concurrency: ${VERSION} initramfs, 3 extensions, ${RUNS} rounds on fresh data dirs`);
console.log(`concurrency: builds performed per ${N}-request round: ${builds.join(', ')} (must be 1)`);
console.log(
  `concurrency: bodies byte-identical: ${identical ? 'yes' : 'NO'} (${okCount}/${N * RUNS} status 200, sha256 ${digest.slice(0, 16)}…, same as the single request's)`,
);
figure(`concurrency: ${N} concurrent cold requests, wall time`, median(many), median(single), 'ms');
console.log(
  `concurrency: the same ${N} requests warm (cache hit, delivery + client sha256 only): ${median(warm).toFixed(0)} ms; cold minus warm ${(median(many) - median(warm)).toFixed(0)} ms`,
);
console.log(
  `concurrency: per-request time to last byte: min ${Math.min(...perRequest).toFixed(0)} ms, median ${median(perRequest).toFixed(0)} ms, max ${Math.max(...perRequest).toFixed(0)} ms`,
);
