/**
 * Two replicas on one registry: factory processes A and B, each with its own data dir, share one
 * real docker-registry for the release, the schematics (`schematics.store: registry`) and the asset
 * cache (`cache.store: registry`), under the mix of `lib/mix.ts` sent to both. Promises:
 * schematics created on A are served by B (explicitly, and every cross read of the mix); an asset
 * A built is a cache hit on B (B's `image_factory_assets_built_total` does not move, its
 * `…_delivered_cached_total` does, same bytes); kill -9 of A in the middle of a build leaves B
 * serving — 0 errors on B while A is down and restarting, B builds the asset A was building, and
 * the restarted A serves B's bytes; no errors on either replica outside the kill window.
 */
import type { FixtureManifest } from '../src/demo/manifest.js';
import { publishFixtures } from '../test/fixtures/publish.js';
import { startRegistry } from '../test/helpers/registry.js';
import type { ManagedFactory, RunContext } from './lib/context.js';
import { leftovers } from './lib/data-dir.js';
import { createSchematic, send, text, wholeAndVerified } from './lib/http.js';
import { Mix, type MixTarget } from './lib/mix.js';
import { fmt, Rows, tally } from './lib/report.js';
import { metricTotal, percentile } from './lib/stats.js';
import { COLD_EVERY_MS, SOAK_RATE, errorsOf, mixRows, prepareMix } from './soak.js';

const VERSION = 'v1.10.6';
/** The build A is killed in (the longest of the small release's kinds, so the kill lands mid-build). */
const KILLED = 'metal-amd64.iso';

async function buildState(f: ManagedFactory, id: string): Promise<string> {
  const s = await send(`${f.process.url}/status/${id}/${VERSION}/${KILLED}`, {
    timeoutMs: 500,
    keepBody: true,
  });
  if (s.status !== 200) return `status ${s.status}`;
  try {
    const j = JSON.parse(text(s)) as { state: string; step?: string };
    return j.state === 'building' ? `building: ${j.step ?? 'between steps'}` : j.state;
  } catch {
    return 'unparsable status';
  }
}

/** Runs the two-replica checks; returns their rows. */
export async function runReplicas(ctx: RunContext, fx: FixtureManifest): Promise<Rows> {
  const rows = new Rows('replicas');
  const registry = await startRegistry();
  ctx.onClose('replicas registry', () => registry.stop());
  await publishFixtures(fx.root, registry.host);
  const repo = (repository: string) => ({
    registry: registry.host,
    namespace: 'factory',
    repository,
    insecure: true,
  });
  const config = {
    artifacts: { source: 'registry' as const, core: { registry: registry.host, insecure: true } },
    schematics: { store: 'registry' as const, registry: repo('schematics') },
    cache: { store: 'registry' as const, registry: repo('cache') },
    http: { externalURL: 'http://factory.reliability.test/' },
    log: { level: 'warn' as const },
  };
  const a = await ctx.factory('replica-a', config, { metrics: true });
  const b = await ctx.factory('replica-b', config, { metrics: true });
  const metric = (f: ManagedFactory, name: string): Promise<number> =>
    metricTotal(f.metricsUrl ?? '', `image_factory_${name}`);

  // Schematics created on A, read on B.
  const ids: string[] = [];
  for (let i = 0; i < 10; i++)
    ids.push(await createSchematic(a.process.url, `customization:\n  extraKernelArgs: [replica.a=${i}]\n`));
  const reads = await Promise.all(ids.map((id) => send(`${b.process.url}/schematics/${id}`)));
  const served = reads.filter((r, i) => r.status === 200 && r.sha256 === ids[i]).length;
  rows.check(
    'schematics created on A served by B',
    served === ids.length,
    `${served}/${ids.length} whole (sha256 = ID)${served < ids.length ? `; ${tally(reads, (r) => String(r.status))}` : ''}`,
    'all',
  );

  // An asset A builds is a hit on B.
  const hitId = await createSchematic(a.process.url, 'customization:\n  extraKernelArgs: [replica.hit=1]\n');
  const path = `/image/${hitId}/${VERSION}/initramfs-amd64.xz`;
  const built = await send(`${a.process.url}${path}`, { timeoutMs: 300_000 });
  const [builtB0, cachedB0] = [
    await metric(b, 'assets_built_total'),
    await metric(b, 'assets_delivered_cached_total'),
  ];
  const hit = await send(`${b.process.url}${path}`, { timeoutMs: 300_000 });
  const [builtB1, cachedB1] = [
    await metric(b, 'assets_built_total'),
    await metric(b, 'assets_delivered_cached_total'),
  ];
  rows.check(
    'an asset built by A is a cache hit on B',
    wholeAndVerified(built) &&
      wholeAndVerified(hit) &&
      hit.sha256 === built.sha256 &&
      builtB1 === builtB0 &&
      cachedB1 === cachedB0 + 1,
    `A built in ${fmt(built.ms, 'ms')}; B answered in ${fmt(hit.ms, 'ms')}, same bytes: ${hit.sha256 === built.sha256}; B's metrics: assets built +${builtB1 - builtB0}, delivered from the cache +${cachedB1 - cachedB0}`,
    'same bytes, B built 0, B cache hits +1',
  );

  // The mix on both, with A killed in the middle of a build.
  const fixture = await prepareMix(
    a.process.url,
    'replicas',
    [VERSION],
    [
      { version: VERSION, path: 'initramfs-amd64.xz' },
      { version: VERSION, path: 'metal-amd64-uki.efi' },
    ],
  );
  // Also warm the killed kind once (release inputs on A and B), so the kill lands in a real build.
  for (const f of [a, b]) {
    const id = await createSchematic(
      f.process.url,
      `customization:\n  extraKernelArgs: [replica.warm=${f.name}]\n`,
    );
    const res = await send(`${f.process.url}/image/${id}/${VERSION}/${KILLED}`, { timeoutMs: 300_000 });
    if (!wholeAndVerified(res))
      throw new Error(`warm-up ${KILLED} on ${f.name}: ${res.status} ${res.error ?? ''}`);
  }
  let aDown = false;
  const targets: MixTarget[] = [
    { name: 'A', url: () => a.process.url, up: () => !aDown },
    { name: 'B', url: () => b.process.url, up: () => true },
  ];
  const mix = new Mix(targets, fixture, () => ctx.random());
  const mixMs = (ctx.options.quick ? 40 : Math.min(3, ctx.options.minutes) * 60) * 1000;
  ctx.log(
    `replicas: mix on A and B for ${fmt(mixMs / 1000, 's')}; kill -9 of A at ${fmt((mixMs * 0.3) / 1000, 's')}`,
  );
  const running = mix.run(mixMs, SOAK_RATE, COLD_EVERY_MS);

  await new Promise((r) => setTimeout(r, mixMs * 0.3));
  const killId = await createSchematic(
    a.process.url,
    'customization:\n  extraKernelArgs: [replica.kill=1]\n',
  );
  const inFlight = send(`${a.process.url}/image/${killId}/${VERSION}/${KILLED}`, { timeoutMs: 300_000 });
  let moment = await buildState(a, killId);
  for (let i = 0; i < 100 && !moment.startsWith('building'); i++) {
    await new Promise((r) => setTimeout(r, 20));
    moment = await buildState(a, killId);
  }
  const killAt = mix.elapsed();
  aDown = true;
  await a.process.kill();
  const cut = await inFlight;
  // B serves what A was building (B builds it: A's build never reached the shared cache).
  const onB = await send(`${b.process.url}/image/${killId}/${VERSION}/${KILLED}`, { timeoutMs: 300_000 });
  const restartMs = await a.restart();
  // A little longer than the restart: B keeps answering while A comes back.
  await new Promise((r) => setTimeout(r, 2000));
  aDown = false;
  const windowEnd = mix.elapsed();
  const onA = await send(`${a.process.url}/image/${killId}/${VERSION}/${KILLED}`, { timeoutMs: 300_000 });
  await running;
  ctx.log(
    `replicas: A killed at ${moment}; cut ${cut.status} ${cut.complete ? 'complete' : (cut.error ?? '')}; B: ${onB.status} in ${fmt(onB.ms, 'ms')}; A back in ${fmt(restartMs, 'ms')}, then ${onA.status}`,
  );

  const inWindow = mix.results.filter((r) => r.target === 'B' && r.at >= killAt && r.at <= windowEnd);
  const bErrors = errorsOf(inWindow);
  rows.check(
    'kill -9 of A mid-build: B keeps serving',
    moment.startsWith('building') && inWindow.length > 0 && bErrors.length === 0,
    `A killed while ${moment}; ${fmt((windowEnd - killAt) / 1000, 's', 1)} until A was back (restart ${fmt(restartMs / 1000, 's', 2)} + 2 s): B answered ${inWindow.length} operations, ${bErrors.length} errors${bErrors.length ? ` (${tally(bErrors, (e) => `${e.route} ${e.cls}`)})` : ''}`,
    'B: 0 errors while A is down',
  );
  rows.check(
    'the build A was killed in: B serves it, then the restarted A',
    wholeAndVerified(onB) &&
      wholeAndVerified(onA) &&
      onA.sha256 === onB.sha256 &&
      !(cut.complete && cut.sha256 !== onB.sha256),
    `A's transfer: ${cut.status === 0 ? 'no response' : cut.complete ? 'complete' : `cut (${cut.error ?? ''})`}; B: ${onB.status} whole ${wholeAndVerified(onB)} in ${fmt(onB.ms, 'ms')}; restarted A: ${onA.status}, same bytes as B: ${onA.sha256 === onB.sha256}`,
    'whole, identical',
  );
  const cross = mix.results.filter(
    (r) =>
      r.route === 'GET /schematics/:id' &&
      r.origin !== undefined &&
      r.origin !== 'fixture' &&
      r.origin !== r.target,
  );
  const crossErrors = errorsOf(cross);
  rows.check(
    'under the mix: schematics read on the other replica',
    cross.length > 0 && crossErrors.length === 0,
    `${cross.length} reads of a schematic the other replica created, ${crossErrors.length} errors`,
    '0 errors',
  );
  mixRows(
    rows,
    mix.results.filter((r) => r.target === 'A'),
    ' on A (outside the kill window)',
    false,
  );
  mixRows(
    rows,
    mix.results.filter((r) => r.target === 'B'),
    ' on B',
    false,
  );
  const lat = (target: string, route: string): string => {
    const ms = mix.results
      .filter((r) => r.target === target && r.route === route && r.cls === 'ok')
      .map((r) => r.ms);
    return `${fmt(percentile(ms, 0.5), 'ms', 1)} / ${fmt(percentile(ms, 0.99), 'ms', 1)}`;
  };
  rows.info(
    'p50 / p99, A and B',
    ['GET asset (cached)', 'GET asset Range', 'GET /schematics/:id', 'POST /schematics']
      .map((route) => `${route}: A ${lat('A', route)}, B ${lat('B', route)}`)
      .join('; '),
  );
  const stale = await leftovers(a.dataDir, { quiet: true });
  rows.check(
    "A's data dir after the restart",
    stale.length === 0,
    stale.length === 0
      ? '0 leftovers of the killed process'
      : `${stale.length}: ${stale.slice(0, 3).join(', ')}`,
    '0',
  );
  await a.process.stop();
  await b.process.stop();
  return rows;
}
