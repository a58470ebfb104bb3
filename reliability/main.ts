/**
 * `npm run reliability [-- --minutes N] [--quick] [--only kill9,upstream,disk,soak,replicas] [--seed S]`:
 * breaks the factory on purpose — kill -9 mid-build, upstream registry faults, a full disk, a
 * mixed soak, two replicas on one registry — and prints one table of what was promised and what
 * was seen. Loopback only; every process and mount it starts is stopped by its own handle; exits
 * 1 when a promise is broken. `--quick` is the short form `npm test` runs (with `--minutes 1`).
 */
import { loadavg, cpus } from 'node:os';
import { buildFixtureReleases } from '../test/fixtures/build.js';
import { AMD64_ONLY_SET } from '../test/fixtures/sets.js';
import { fixtureReleases } from '../test/helpers/fixture-factory.js';
import { factoryVersion } from '../src/version.js';
import { RunContext, type RunOptions } from './lib/context.js';
import { formatMarkdown, formatTable, type Row, Rows } from './lib/report.js';
import { runKill9 } from './kill9.js';
import { runUpstreamFaults } from './upstream.js';
import { runDiskFull } from './disk-full.js';
import { runSoak } from './soak.js';
import { runReplicas } from './replicas.js';

const SECTIONS = ['kill9', 'upstream', 'disk', 'soak', 'replicas'] as const;
type Section = (typeof SECTIONS)[number];

function parseArgs(argv: readonly string[]): RunOptions & { only: Set<Section>; markdown: boolean } {
  let minutes = 10;
  let quick = false;
  let markdown = false;
  let seed = Math.floor(Math.random() * 2 ** 31);
  let only = new Set<Section>(SECTIONS);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--minutes') {
      minutes = Number(value());
      if (!Number.isFinite(minutes) || minutes <= 0) throw new Error('--minutes: expected a positive number');
    } else if (a === '--quick') quick = true;
    else if (a === '--markdown') markdown = true;
    else if (a === '--seed') seed = Number(value());
    else if (a === '--only') {
      const names = value().split(',');
      for (const n of names)
        if (!(SECTIONS as readonly string[]).includes(n))
          throw new Error(`--only: unknown section ${n} (${SECTIONS.join(', ')})`);
      only = new Set(names as Section[]);
    } else throw new Error(`unknown argument ${a}`);
  }
  return { minutes, quick, seed, only, markdown };
}

const args = parseArgs(process.argv.slice(2));
const started = new Date();
const load0 = loadavg()[0] ?? 0;
const ctx = await RunContext.create(args);
const rows: Row[] = [];
let crashed = false;
const stopping = (): void => {
  // An interrupted run still stops what it started.
  ctx.log('interrupted: stopping everything started');
  void ctx.close().finally(() => process.exit(130));
};
process.once('SIGINT', stopping);
process.once('SIGTERM', stopping);
try {
  ctx.log(
    `seed ${args.seed}; sections ${[...args.only].join(', ')}; soak ${args.minutes} min${args.quick ? ' (quick)' : ''}`,
  );
  const fx = await fixtureReleases();
  const small = await buildFixtureReleases({ ...AMD64_ONLY_SET });
  const run = async (name: Section, label: string, fn: () => Promise<Rows>): Promise<void> => {
    if (!args.only.has(name)) return;
    const t0 = performance.now();
    ctx.log(`== ${label}`);
    try {
      rows.push(...(await fn()).rows);
    } catch (e) {
      const r = new Rows(label);
      ctx.log(`${label}: ${(e as Error).stack ?? String(e)}`);
      r.check('section ran to the end', false, (e as Error).message, 'no harness error');
      rows.push(...r.rows);
    }
    ctx.log(`== ${label} done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  };
  await run('kill9', 'kill -9', () => runKill9(ctx, fx));
  await run('upstream', 'upstream', () => runUpstreamFaults(ctx, small));
  await run('disk', 'full disk', () => runDiskFull(ctx, fx));
  await run('soak', 'soak', () => runSoak(ctx, fx));
  await run('replicas', 'replicas', () => runReplicas(ctx, small));
} catch (e) {
  crashed = true;
  ctx.log(`harness failure: ${(e as Error).stack ?? String(e)}`);
} finally {
  await ctx.close();
}
const seconds = (Date.now() - started.getTime()) / 1000;
const failed = rows.filter((r) => r.verdict === 'FAIL').length;
console.log(
  `\nimage-factory ${factoryVersion()} reliability, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} cores, load average ${load0.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}, ${(seconds / 60).toFixed(1)} min, seed ${args.seed}${args.quick ? ', quick' : ''}, soak ${args.minutes} min\n`,
);
console.log(args.markdown ? formatMarkdown(rows) : formatTable(rows));
console.log(
  `\n${rows.filter((r) => r.verdict === 'OK').length} promises held, ${failed} broken, ${rows.filter((r) => r.verdict === 'SKIP').length} skipped`,
);
process.exitCode = failed > 0 || crashed ? 1 : 0;
