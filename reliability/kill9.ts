/**
 * kill -9 at random moments of builds of every asset kind. Each round creates a new schematic,
 * requests one asset (a cold build), SIGKILLs the factory after a random delay within that
 * kind's build time, restarts it on the same data dir and port, and requests the asset again.
 * Promises: every served body is whole and hashes to its ETag and its `.sha256`, and equals a
 * rebuild in a fresh data dir by another process; a body cut by the kill is never complete (the
 * client sees the cut); after each restart no work dir or temp file of the killed process is left;
 * every cache entry verifies at the end.
 */
import type { FixtureManifest } from '../src/demo/manifest.js';
import type { ManagedFactory, RunContext } from './lib/context.js';
import { leftovers, verifyEntries } from './lib/data-dir.js';
import { createSchematic, etagOf, send, text, wholeAndVerified, type Outcome } from './lib/http.js';
import { fmt, Rows, tally } from './lib/report.js';
import { percentile } from './lib/stats.js';

/** One asset kind as the matrix builds it (small: fixture releases, cheap formats). */
interface KindSpec {
  readonly kind: string;
  readonly version: string;
  readonly path: string;
  /** Official extensions in the schematic (0–1: keeps builds small). */
  readonly extensions: number;
}

const KINDS: readonly KindSpec[] = [
  { kind: 'initramfs', version: 'v1.10.6', path: 'initramfs-amd64.xz', extensions: 1 },
  { kind: 'iso', version: 'v1.5.5', path: 'metal-amd64.iso', extensions: 0 },
  { kind: 'uki', version: 'v1.10.6', path: 'metal-amd64-uki.efi', extensions: 1 },
  { kind: 'disk image', version: 'v1.10.6', path: 'metal-amd64.qcow2', extensions: 0 },
  { kind: 'installer', version: 'v1.5.5', path: 'installer-amd64.tar', extensions: 1 },
];

interface Round {
  readonly spec: KindSpec;
  readonly yaml: string;
  readonly id: string;
  readonly delayMs: number;
  /** Where the build stood just before the kill (from /status). */
  readonly moment: string;
  /** The request in flight when the factory died. */
  readonly cut: Outcome;
  /** The request after the restart. */
  readonly after: Outcome;
  readonly checksum: string;
  readonly stale: string[];
  readonly restartMs: number;
}

function schematicYaml(tag: string, extensions: readonly string[]): string {
  const ext =
    extensions.length > 0 ? `\n  systemExtensions:\n    officialExtensions: [${extensions.join(', ')}]` : '';
  return `customization:\n  extraKernelArgs: [reliability.kill=${tag}]${ext}\n`;
}

function extensionsFor(fx: FixtureManifest, version: string, n: number): string[] {
  const v = fx.versions.find((x) => x.spec.tag === version);
  return (v?.extensions ?? [])
    .filter((e) => e.compatible)
    .slice(0, n)
    .map((e) => `${fx.namespace}/${e.name}`);
}

async function statusMoment(f: ManagedFactory, id: string, spec: KindSpec): Promise<string> {
  const s = await send(`${f.process.url}/status/${id}/${spec.version}/${spec.path}`, {
    timeoutMs: 300,
    keepBody: true,
  });
  if (s.status !== 200) return s.status === 0 ? 'no answer' : `status ${s.status}`;
  try {
    const j = JSON.parse(text(s)) as { state: string; step?: string; dependency?: string };
    if (j.state !== 'building') return j.state;
    return `building${j.dependency ? ` ${j.dependency}` : ''}: ${j.step ?? 'between steps'}`;
  } catch {
    return 'unparsable status';
  }
}

/** Runs the kill -9 matrix; returns its rows. */
export async function runKill9(ctx: RunContext, fx: FixtureManifest): Promise<Rows> {
  const rows = new Rows('kill -9');
  const total = ctx.options.quick ? KINDS.length : 20;
  // The same external URL for both factories: it is part of the assets (the virtual extension's author).
  const config = {
    artifacts: { source: 'oci-layout' as const, layoutDir: fx.root },
    http: { externalURL: 'http://factory.reliability.test/' },
  };
  const f = await ctx.factory('kill9', config);
  const url = (id: string, s: KindSpec): string => `${f.process.url}/image/${id}/${s.version}/${s.path}`;

  // Per kind: a warm-up build (release inputs, extension bundles), then a cold build of another
  // schematic measures what each round's build takes; kills land uniformly within that time.
  const estimate = new Map<string, number>();
  for (const spec of KINDS) {
    for (const pass of ['warm', 'calibrate']) {
      const id = await createSchematic(
        f.process.url,
        schematicYaml(`${pass}-${spec.kind}`, extensionsFor(fx, spec.version, spec.extensions)),
      );
      const res = await send(url(id, spec), { timeoutMs: 300_000, keepBody: true });
      if (!wholeAndVerified(res))
        throw new Error(`${pass} ${spec.path}: ${res.status} ${res.error ?? text(res).slice(0, 300)}`);
      estimate.set(spec.kind, res.ms);
    }
    ctx.log(`kill -9: ${spec.kind} builds in ${fmt(estimate.get(spec.kind) ?? 0, 'ms')}`);
  }

  const rounds: Round[] = [];
  for (let i = 0; i < total; i++) {
    const spec = KINDS[i % KINDS.length]!;
    const yaml = schematicYaml(`${ctx.options.seed}-${i}`, extensionsFor(fx, spec.version, spec.extensions));
    const id = await createSchematic(f.process.url, yaml);
    const delayMs = Math.round(ctx.random() * (estimate.get(spec.kind) ?? 1000));
    const inFlight = send(url(id, spec), { timeoutMs: 300_000 });
    await new Promise((r) => setTimeout(r, delayMs));
    const moment = await statusMoment(f, id, spec);
    await f.process.kill();
    const cut = await inFlight;
    const restartMs = await f.restart();
    // Right after the restart: nothing of the killed process may be left (no build runs yet).
    const stale = await leftovers(f.dataDir, { quiet: true });
    const after = await send(url(id, spec), { timeoutMs: 300_000 });
    const sum = await send(`${url(id, spec)}.sha256`, { keepBody: true, timeoutMs: 30_000 });
    const checksum = text(sum).split(' ')[0] ?? '';
    // A rebuild after a kill mid-build is another sample of the build time.
    if (wholeAndVerified(after) && moment !== 'ready')
      estimate.set(spec.kind, ((estimate.get(spec.kind) ?? after.ms) + after.ms) / 2);
    rounds.push({ spec, yaml, id, delayMs, moment, cut, after, checksum, stale, restartMs });
    ctx.log(
      `kill -9 #${i + 1}/${total} ${spec.kind} after ${delayMs} ms (${moment}); cut: ${cut.status} ${cut.complete ? 'complete' : (cut.error ?? '')}; after restart: ${after.status} ${fmt(after.ms, 'ms')}`,
    );
  }
  const entries = await verifyEntries(f.dataDir);
  await f.process.stop();

  // Rebuild every asset in a fresh data dir with another factory process, two at a time.
  const fresh = await ctx.factory('kill9-rebuild', config);
  const rebuilt = new Map<number, string>();
  const queue = rounds.map((r, i) => ({ r, i }));
  await Promise.all(
    [0, 1].map(async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        await createSchematic(fresh.process.url, job.r.yaml);
        const res = await send(
          `${fresh.process.url}/image/${job.r.id}/${job.r.spec.version}/${job.r.spec.path}`,
          { timeoutMs: 300_000 },
        );
        rebuilt.set(job.i, wholeAndVerified(res) ? res.sha256 : `failed ${res.status}`);
        if (rebuilt.get(job.i) !== job.r.after.sha256)
          ctx.log(
            `kill -9: rebuild of #${job.i + 1} ${job.r.spec.path}: ${rebuilt.get(job.i)} ≠ served ${job.r.after.sha256}`,
          );
      }
    }),
  );
  await fresh.process.stop();

  const kinds = new Set(rounds.map((r) => r.spec.kind));
  rows.check(
    'builds killed at random moments',
    rounds.length === total && kinds.size === KINDS.length,
    `${rounds.length} kills: ${tally(rounds, (r) => r.spec.kind)}; moments: ${tally(rounds, (r) => r.moment.replace(/: .*/, ''))}; steps hit: ${new Set(rounds.filter((r) => r.moment.startsWith('building')).map((r) => r.moment.replace(/^building[^:]*: /, '').replace(/ \d+$/, ''))).size}`,
    `${total}× across ${KINDS.length} kinds`,
  );
  const served = rounds.filter((r) => wholeAndVerified(r.after));
  const equal = rounds.filter((r, i) => wholeAndVerified(r.after) && rebuilt.get(i) === r.after.sha256);
  const sums = rounds.filter((r) => r.checksum === etagOf(r.after));
  rows.check(
    'served after restart = rebuild in a fresh data dir',
    served.length === rounds.length && equal.length === rounds.length && sums.length === rounds.length,
    `${served.length}/${rounds.length} served whole (sha256 = ETag); ${equal.length}/${rounds.length} equal to the rebuild; ${sums.length}/${rounds.length} .sha256 = ETag`,
    'all equal',
  );
  const completeBefore = rounds.filter((r) => r.cut.complete);
  const badComplete = completeBefore.filter(
    (r) => !wholeAndVerified(r.cut) || r.cut.sha256 !== r.after.sha256,
  );
  const cutShort = rounds.filter((r) => !r.cut.complete && r.cut.status === 200);
  rows.check(
    'no partial file served',
    badComplete.length === 0,
    `${completeBefore.length} transfers finished before the kill, ${badComplete.length} of them short or wrong; ${cutShort.length} cut mid-body (${fmt(
      percentile(
        cutShort.map((r) => r.cut.bytes / Number(r.cut.headers['content-length'] ?? 1)),
        0.5,
      ) * 100,
      '%',
    )} median received), all seen as cut by the client`,
    '0 short or wrong bodies presented as complete',
  );
  const stale = rounds.flatMap((r) => r.stale);
  rows.check(
    'no stale work/temp files after the next start',
    stale.length === 0,
    stale.length === 0
      ? `0 after ${rounds.length} restarts`
      : `${stale.length}: ${stale.slice(0, 3).join(', ')}`,
    '0',
  );
  rows.check(
    'cache entries verify',
    entries.poisoned.length === 0,
    `${entries.checked} entries checked, ${entries.poisoned.length} bad${entries.poisoned.length ? `: ${entries.poisoned.slice(0, 2).join('; ')}` : ''}`,
    '0 poisoned',
  );
  const restarts = rounds.map((r) => r.restartMs);
  rows.info(
    'restart to /healthz',
    `p50 ${fmt(percentile(restarts, 0.5) / 1000, 's', 2)}, max ${fmt(Math.max(...restarts) / 1000, 's', 2)}`,
  );
  return rows;
}
