/**
 * The mixed soak: one factory process under the open-loop mix of `lib/mix.ts` for `--minutes N`
 * (schematic creates and reads, cached downloads whole and by Range, PXE scripts, checksums,
 * conditional GETs, aborted downloads, cold builds of three kinds and aborted cold builds), while
 * the factory's RSS, V8 heap (the metrics listener's `nodejs_heap_size_used_bytes`) and open file
 * descriptors (`/proc/<pid>/fd`) are sampled. Promises: 0 errors of any class; the three samples
 * flat (the end ≤ 1.2× the value at minute 2, each the floor of a window, see below); as many
 * descriptors idle after the load as before it; afterwards no leftover work/temp files and every
 * cache entry verifies.
 */
import type { FixtureManifest } from '../src/demo/manifest.js';
import type { ManagedFactory, RunContext } from './lib/context.js';
import { leftovers, verifyEntries } from './lib/data-dir.js';
import { createSchematic, send, text, wholeAndVerified } from './lib/http.js';
import { Mix, type KnownAsset, type MixFixture, type OpResult } from './lib/mix.js';
import { fmt, Rows, tally } from './lib/report.js';
import {
  heapBytes,
  median,
  NO_HEAP_FIGURES,
  openFds,
  percentile,
  rssBytes,
  type ProcessSample,
} from './lib/stats.js';

const MIB = 1024 * 1024;
/** Operations per second of the mix, and how often a cold build starts. */
export const SOAK_RATE = 20;
export const COLD_EVERY_MS = 5000;

/** The cold builds the mix rotates through (each a new schematic, so a real build). */
const COLD: readonly { version: string; path: string }[] = [
  { version: 'v1.10.6', path: 'initramfs-amd64.xz' },
  { version: 'v1.10.6', path: 'metal-amd64-uki.efi' },
  { version: 'v1.5.5', path: 'metal-amd64.iso' },
];

/** What the mix downloads, cached on `base` first (also used by the replicas section). */
export async function prepareMix(
  base: string,
  tag: string,
  versions: readonly string[] = ['v1.10.6', 'v1.5.5'],
  cold: readonly { version: string; path: string }[] = COLD,
): Promise<MixFixture> {
  const schematics = [
    await createSchematic(base, 'customization: {}\n'),
    await createSchematic(base, `customization:\n  extraKernelArgs: [reliability.${tag}=cached]\n`),
  ];
  const assets: KnownAsset[] = [];
  for (const [i, version] of versions.entries()) {
    const id = schematics[i % schematics.length]!;
    for (const file of ['kernel-amd64', 'initramfs-amd64.xz']) {
      const path = `/image/${id}/${version}/${file}`;
      const res = await send(`${base}${path}`, { keepBody: true, timeoutMs: 300_000 });
      if (!wholeAndVerified(res) || !res.body)
        throw new Error(`warm-up ${path}: ${res.status} ${res.error ?? text(res).slice(0, 200)}`);
      // The name the checksum file carries is the download's filename; the mix checks it stays so.
      const sum = await send(`${base}${path}.sha256`, { keepBody: true });
      const name = text(sum).trim().split(/\s+/)[1] ?? file;
      assets.push({ path, name, body: res.body, sha256: res.sha256 });
    }
  }
  const pxe = schematics.flatMap((id) => versions.map((v) => `/pxe/${id}/${v}/metal-amd64`));
  return {
    assets,
    pxe,
    schematics,
    cold: (n) => {
      const spec = cold[n % cold.length]!;
      return {
        yaml: `customization:\n  extraKernelArgs: [reliability.${tag}.cold=${n}-${Date.now()}]\n`,
        version: spec.version,
        path: spec.path,
      };
    },
  };
}

/** Errors (anything but `ok` and an intended abort) of `results`. */
export function errorsOf(results: readonly OpResult[]): OpResult[] {
  return results.filter((r) => r.cls !== 'ok' && r.cls !== 'aborted');
}

/** Rows: errors by class, then (unless `perRoute` is false) p50/p99 per route. */
export function mixRows(rows: Rows, results: readonly OpResult[], label = '', perRoute = true): void {
  const errors = errorsOf(results);
  rows.check(
    `errors by class${label}`,
    errors.length === 0,
    `${results.length} operations, ${errors.length} errors${errors.length ? `: ${tally(errors, (e) => e.cls)}; first: ${errors[0]?.route} ${errors[0]?.detail ?? ''}` : ''}; intended aborts ${results.filter((r) => r.cls === 'aborted').length}`,
    '0 errors',
  );
  if (!perRoute) return;
  const routes = [...new Set(results.map((r) => r.route))].sort();
  for (const route of routes) {
    const ms = results.filter((r) => r.route === route && r.cls === 'ok').map((r) => r.ms);
    const all = results.filter((r) => r.route === route).length;
    rows.info(
      `${route}${label}`,
      ms.length === 0
        ? `n ${all} (intended aborts: no latency)`
        : `n ${all}; p50 ${fmt(percentile(ms, 0.5), 'ms', 1)}, p99 ${fmt(percentile(ms, 0.99), 'ms', 1)}`,
    );
  }
}

/** Samples `f`'s process every `everyMs` until stopped. */
function sampler(f: ManagedFactory, everyMs: number): { samples: ProcessSample[]; stop: () => void } {
  const samples: ProcessSample[] = [];
  const t0 = performance.now();
  const take = async (): Promise<void> => {
    const pid = f.process.pid;
    const [rss, fds, { heap, external, young }] = await Promise.all([
      rssBytes(pid),
      openFds(pid),
      f.metricsUrl ? heapBytes(f.metricsUrl) : NO_HEAP_FIGURES,
    ]);
    samples.push({ t: (performance.now() - t0) / 1000, rss, heap, external, young, fds });
  };
  void take();
  const timer = setInterval(() => void take(), everyMs);
  return { samples, stop: () => clearInterval(timer) };
}

/**
 * The floor (lowest sample) of `key` in [from, to]: what is held between bursts. A leak raises the
 * floor; requests and builds in flight (sockets, pipes to tools, garbage not yet collected) only
 * raise single samples.
 */
function floorOf(
  samples: readonly ProcessSample[],
  from: number,
  to: number,
  key: Exclude<keyof ProcessSample, 't'>,
): number {
  const xs = samples.filter((x) => x.t >= from && x.t <= to).map((x) => x[key]);
  return xs.length === 0 ? Number.NaN : Math.min(...xs);
}

/** Runs the soak; returns its rows. */
export async function runSoak(ctx: RunContext, fx: FixtureManifest): Promise<Rows> {
  const rows = new Rows('soak');
  const seconds = ctx.options.minutes * 60;
  const f = await ctx.factory(
    'soak',
    {
      artifacts: { source: 'oci-layout', layoutDir: fx.root },
      http: { externalURL: 'http://factory.reliability.test/' },
      // The mix creates a few new schematics a second: under the default bounds (100 000 cached
      // schematics, 10 000 parsed) the caches would keep growing for hours, by design. Small
      // bounds fill within the first minute, so "flat" then shows that a full cache stays put.
      schematics: { cacheCapacity: 200, parsedCacheCapacity: 200 },
      // The per-request info lines would be most of the log; warnings and errors are what matter.
      log: { level: 'warn' },
    },
    { metrics: true },
  );
  const fixture = await prepareMix(f.process.url, 'soak');
  // Every cold kind once before the clock starts (release inputs extracted, extension bundles).
  for (let i = 0; i < COLD.length; i++) {
    const spec = fixture.cold(i);
    const id = await createSchematic(f.process.url, spec.yaml);
    const res = await send(`${f.process.url}/image/${id}/${spec.version}/${spec.path}`, {
      timeoutMs: 300_000,
    });
    if (!wholeAndVerified(res)) throw new Error(`warm-up ${spec.path}: ${res.status} ${res.error ?? ''}`);
  }
  // Each 10 s; a short run samples more often (30 samples) so each window holds several.
  const everyMs = Math.min(10_000, (seconds * 1000) / 30);
  // The reference point: minute 2, or 40 % of a run shorter than 3 minutes; each value is the
  // floor of a window of ±10 % of the run around it (the end: the last 20 %).
  const refT = seconds >= 180 ? 120 : seconds * 0.4;
  const halfWindow = seconds * 0.1;
  const idleFds = await openFds(f.process.pid);
  const target = { name: 'soak', url: () => f.process.url, up: () => true };
  // A run shorter than 3 minutes has no 2 minutes of warm-up before its reference point: 20 s of
  // the same load first, not sampled (JIT, pools and caches filling are not a trend).
  const warmSeconds = seconds >= 180 ? 0 : 20;
  const warm = new Mix([target], fixture, () => ctx.random());
  if (warmSeconds > 0) await warm.run(warmSeconds * 1000, SOAK_RATE, COLD_EVERY_MS);
  const mix = new Mix([target], fixture, () => ctx.random());
  ctx.log(
    `soak: ${ctx.options.minutes} min at ${SOAK_RATE} ops/s, a cold build every ${COLD_EVERY_MS / 1000} s; samples every ${everyMs / 1000} s`,
  );
  const s = sampler(f, everyMs);
  const progress = setInterval(() => {
    const last = s.samples.at(-1);
    ctx.log(
      `soak: ${fmt(mix.elapsed() / 1000, 's')} ${mix.results.length} ops, ${errorsOf(mix.results).length} errors; rss ${fmt((last?.rss ?? 0) / MIB, 'MiB')}, heap ${fmt((last?.heap ?? 0) / MIB, 'MiB')}, fds ${last?.fds ?? 0}`,
    );
  }, 60_000);
  // The load runs the whole length; the last sample is taken while it still runs.
  await mix.run(seconds * 1000, SOAK_RATE, COLD_EVERY_MS, undefined, () => s.stop());
  clearInterval(progress);
  s.stop();

  mixRows(rows, [...warm.results, ...mix.results]);
  if (warmSeconds > 0)
    rows.info('warm-up (a run under 3 min)', `${warmSeconds} s of the same load before sampling`);
  rows.info('load shed (ticks skipped: 64 in flight)', `${mix.shed}`);
  const refText = seconds >= 180 ? 'minute 2' : `${fmt(refT, 's')} (40 % of a ${fmt(seconds, 's')} run)`;
  const endT = s.samples.at(-1)?.t ?? seconds;
  const win = `floor of ±${fmt(halfWindow, 's')}`;
  for (const [key, label, unit, scale] of [
    ['rss', 'RSS', 'MiB', MIB],
    ['heap', 'V8 heap used (metrics listener)', 'MiB', MIB],
    ['fds', 'open file descriptors (/proc/<pid>/fd)', '', 1],
    ['external', 'external memory (Buffers; metrics listener)', 'MiB', MIB],
    ['young', 'V8 young generation, committed (runtime.semiSpaceMiB pins it)', 'MiB', MIB],
  ] as const) {
    const ref = floorOf(s.samples, refT - halfWindow, refT + halfWindow, key);
    const end = floorOf(s.samples, endT - 2 * halfWindow, endT, key);
    const digits = unit === '' ? 0 : 1;
    const values = s.samples.map((x) => x[key] / scale);
    const figure = `at ${refText} (${win}): ${fmt(ref / scale, unit, digits)}; at the end (floor of the last ${fmt(2 * halfWindow, 's')}): ${fmt(end / scale, unit, digits)} (${(end / ref).toFixed(2)}×); all ${s.samples.length} samples (each ${fmt(everyMs / 1000, 's')}): min ${fmt(Math.min(...values), unit, digits)}, median ${fmt(median(values), unit, digits)}, max ${fmt(Math.max(...values), unit, digits)}`;
    // External memory and the young generation are figures (where RSS beyond the heap in use
    // goes), not promises.
    if (key === 'external' || key === 'young') rows.info(label, figure);
    else
      rows.check(
        `${label} flat`,
        Number.isFinite(ref) && Number.isFinite(end) && end <= 1.2 * ref,
        figure,
        'end ≤ 1.2× reference',
      );
  }
  // After the load: as many descriptors as before it, nothing half-written, nothing stale.
  await new Promise((r) => setTimeout(r, 1000));
  const idleAfter = await openFds(f.process.pid);
  rows.check(
    'open file descriptors, idle before → after the load',
    idleAfter <= idleFds * 1.2,
    `${idleFds} → ${idleAfter}`,
    'after ≤ 1.2× before',
  );
  const left = await leftovers(f.dataDir, { quiet: true });
  const entries = await verifyEntries(f.dataDir);
  rows.check(
    'data dir after the soak',
    left.length === 0 && entries.poisoned.length === 0,
    `${left.length} leftovers${left.length ? ` (${left.slice(0, 3).join(', ')})` : ''}; ${entries.checked} entries checked, ${entries.poisoned.length} bad`,
    '0 leftovers, 0 poisoned',
  );
  await f.process.stop();
  return rows;
}
