/**
 * A full disk, mid-build and mid-cache-put, on small tmpfs mounts (root only; unmounted after).
 * Mid-build: the whole data dir is a tmpfs, filled to a few MiB before an ISO build, which then
 * runs out of room while it works. Mid-put: only the asset cache (`<dataDir>/assets`) is a tmpfs;
 * the build finishes in the work dir and the copy into the cache fails part-way. Promises: a
 * clear `507 cache storage is full` without server paths; no partial or unverifiable entry; assets
 * cached before keep being served (whole and ranges); once space is freed the same request
 * builds, and the bytes equal a build on a disk that never filled.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, open, readFile, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { FixtureManifest } from '../src/demo/manifest.js';
import type { ManagedFactory, RunContext } from './lib/context.js';
import { leftovers, verifyEntries } from './lib/data-dir.js';
import { createSchematic, send, text, wholeAndVerified, type Outcome } from './lib/http.js';
import { fmt, Rows } from './lib/report.js';

const MIB = 1024 * 1024;
const VERSION = 'v1.5.5';
const CACHED = 'kernel-amd64';
const BUILT = 'metal-amd64.iso';
const EXTERNAL = 'http://factory.reliability.test/';

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** Mounts a tmpfs of `mib` MiB at `dir` and registers its unmount. */
function mountTmpfs(ctx: RunContext, dir: string, mib: number): void {
  sh('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir]);
  ctx.onClose(`tmpfs ${dir}`, async () => {
    const r = spawnSync('umount', [dir]);
    if (r.status !== 0) spawnSync('umount', ['-l', dir]);
  });
}

/** Fills the file system of `dir` until `leaveBytes` remain (a filler file; remove it to free). */
async function fillTo(dir: string, leaveBytes: number): Promise<string> {
  const filler = join(dir, '.reliability-filler');
  const st = await statfs(dir);
  let left = st.bavail * st.bsize - leaveBytes;
  const fh = await open(filler, 'a');
  const block = Buffer.alloc(MIB);
  try {
    while (left > 0) {
      const n = Math.min(left, block.length);
      await fh.write(block, 0, n);
      left -= n;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    await fh.close();
  }
  return filler;
}

async function freeBytes(dir: string): Promise<number> {
  const st = await statfs(dir);
  return st.bavail * st.bsize;
}

function message(o: Outcome): string {
  try {
    return (JSON.parse(text(o)) as { message?: string }).message ?? text(o);
  } catch {
    return text(o) || (o.error ?? '');
  }
}

interface Trial {
  readonly where: string;
  readonly freeMiB: number;
  readonly yaml: string;
  readonly id: string;
  readonly during: Outcome;
  readonly phase: string;
  readonly cachedWhole: boolean;
  readonly cachedRange: boolean;
  readonly postDuring: number;
  readonly poisoned: number;
  readonly left: string[];
  readonly after: Outcome;
}

/** One full-disk trial on factory `f`: fill `fsDir` to `leave` bytes, build, check, free, build again. */
async function trial(
  ctx: RunContext,
  f: ManagedFactory,
  where: string,
  fsDir: string,
  leave: number,
  cached: { body: Buffer; sha256: string },
): Promise<Trial> {
  const base = f.process.url;
  const yaml = `customization:\n  extraKernelArgs: [reliability.disk=${where.replace(/\s+/g, '-')}-${leave}]\n`;
  const id = await createSchematic(base, yaml);
  const logBefore = (await readFile(f.logFile, 'utf8').catch(() => '')).length;
  const filler = await fillTo(fsDir, leave);
  const freeMiB = (await freeBytes(fsDir)) / MIB;
  let during: Outcome;
  let cachedWhole = false;
  let cachedRange = false;
  let postDuring = 0;
  try {
    during = await send(`${base}/image/${id}/${VERSION}/${BUILT}`, {
      headers: { accept: 'application/json' },
      keepBody: true,
      timeoutMs: 300_000,
    });
    const whole = await send(`${base}/image/${id}/${VERSION}/${CACHED}`, { timeoutMs: 60_000 });
    cachedWhole = wholeAndVerified(whole) && whole.sha256 === cached.sha256;
    const part = await send(`${base}/image/${id}/${VERSION}/${CACHED}`, {
      headers: { range: 'bytes=1000-200999' },
      keepBody: true,
      timeoutMs: 60_000,
    });
    cachedRange = part.status === 206 && part.body?.equals(cached.body.subarray(1000, 201000)) === true;
    postDuring = (
      await send(`${base}/schematics`, { method: 'POST', body: `${yaml}  # while full\n`, timeoutMs: 30_000 })
    ).status;
    await new Promise((r) => setTimeout(r, 300)); // the failed build's clean-up
  } finally {
    await rm(filler, { force: true });
  }
  const log = (await readFile(f.logFile, 'utf8').catch(() => '')).slice(logBefore);
  // Where it ran out: the step the message names, else what the log's cause says.
  const step = /^(.*): cache storage is full$/.exec(message(during))?.[1];
  const phase =
    step !== undefined
      ? `build step ${step}`
      : /copyfile/.test(log)
        ? 'cache put (copy into the cache)'
        : /ENOSPC/.test(log)
          ? 'build (a write of the factory)'
          : 'unknown';
  const entries = await verifyEntries(f.dataDir);
  const left = await leftovers(f.dataDir, { quiet: true });
  const after = await send(`${base}/image/${id}/${VERSION}/${BUILT}`, { timeoutMs: 300_000 });
  ctx.log(
    `full disk (${where}, ${fmt(freeMiB, 'MiB', 1)} free): ${during.status} «${message(during)}» in ${fmt(during.ms, 'ms')}, failed in ${phase}; cached ${cachedWhole}/${cachedRange}; POST ${postDuring}; after freeing: ${after.status}`,
  );
  return {
    where,
    freeMiB,
    yaml,
    id,
    during,
    phase,
    cachedWhole,
    cachedRange,
    postDuring,
    poisoned: entries.poisoned.length,
    left,
    after,
  };
}

/** Runs the full-disk trials (root only). */
export async function runDiskFull(ctx: RunContext, fx: FixtureManifest): Promise<Rows> {
  const rows = new Rows('full disk');
  if (process.getuid?.() !== 0) {
    rows.skip(
      'full disk mid-build and mid-cache-put',
      'needs root to mount a tmpfs',
      '507, no partial entry',
    );
    return rows;
  }
  const artifacts = { source: 'oci-layout' as const, layoutDir: fx.root };
  const trials: Trial[] = [];
  const warm = async (f: ManagedFactory): Promise<{ body: Buffer; sha256: string }> => {
    const id = await createSchematic(f.process.url, 'customization: {}\n');
    const k = await send(`${f.process.url}/image/${id}/${VERSION}/${CACHED}`, {
      keepBody: true,
      timeoutMs: 120_000,
    });
    if (!wholeAndVerified(k) || !k.body) throw new Error(`warm-up ${CACHED}: ${k.status} ${k.error ?? ''}`);
    return { body: k.body, sha256: k.sha256 };
  };

  // Mid-build: the whole data dir on one small tmpfs.
  const mnt = await ctx.dir('tmpfs-data');
  mountTmpfs(ctx, mnt, 128);
  const whole = await ctx.factory('disk-build', {
    dataDir: join(mnt, 'data'),
    artifacts,
    http: { externalURL: EXTERNAL },
  });
  const k1 = await warm(whole);
  for (const leave of ctx.options.quick ? [3 * MIB] : [1 * MIB, 4 * MIB, 12 * MIB])
    trials.push(await trial(ctx, whole, 'mid-build', mnt, leave, k1));
  await whole.process.stop();

  // Mid-put: only the asset cache on a small tmpfs; the build's work dir has room.
  const data = await ctx.dir('put-data');
  const assets = join(data, 'assets');
  await mkdir(assets, { recursive: true });
  mountTmpfs(ctx, assets, 80);
  const split = await ctx.factory('disk-put', { dataDir: data, artifacts, http: { externalURL: EXTERNAL } });
  const k2 = await warm(split);
  for (const leave of ctx.options.quick ? [6 * MIB] : [2 * MIB, 8 * MIB])
    trials.push(await trial(ctx, split, 'mid-cache-put', assets, leave, k2));
  await split.process.stop();

  // The same ISOs on a disk that never filled.
  const clean = await ctx.factory('disk-reference', { artifacts, http: { externalURL: EXTERNAL } });
  const reference = new Map<string, string>();
  for (const t of trials) {
    await createSchematic(clean.process.url, t.yaml);
    const r = await send(`${clean.process.url}/image/${t.id}/${VERSION}/${BUILT}`, { timeoutMs: 300_000 });
    reference.set(t.id, wholeAndVerified(r) ? r.sha256 : `failed ${r.status}`);
  }
  await clean.process.stop();

  for (const where of ['mid-build', 'mid-cache-put']) {
    const ts = trials.filter((t) => t.where === where);
    const clear = ts.filter(
      (t) =>
        t.during.status === 507 &&
        message(t.during).endsWith('cache storage is full') &&
        !text(t.during).includes(t.where) &&
        !/\/(tmp|work|var)\//.test(text(t.during)),
    );
    rows.check(
      `${where}: clear error`,
      clear.length === ts.length,
      ts
        .map(
          (t) =>
            `${fmt(t.freeMiB, 'MiB', 1)} free → ${t.during.status} «${message(t.during)}», failed in ${t.phase}`,
        )
        .join('; '),
      '507 «[step: ]cache storage is full», no server paths',
    );
    const partial = ts.filter((t) => t.poisoned > 0 || t.left.length > 0);
    rows.check(
      `${where}: no partial entry`,
      partial.length === 0,
      `${ts.length} trials: ${ts.reduce((n, t) => n + t.poisoned, 0)} unverifiable entries, ${ts.reduce((n, t) => n + t.left.length, 0)} temp/partial files${partial[0]?.left[0] ? ` (${partial[0].left[0]})` : ''}`,
      '0',
    );
    const served = ts.filter((t) => t.cachedWhole && t.cachedRange);
    rows.check(
      `${where}: cached assets still served`,
      served.length === ts.length,
      `${served.length}/${ts.length} trials: ${CACHED} whole (sha256 = ETag) and a range while full; POST /schematics while full → ${[...new Set(ts.map((t) => t.postDuring))].join(', ')}`,
      '200 / 206 with the right bytes',
    );
    const recovered = ts.filter((t) => wholeAndVerified(t.after) && reference.get(t.id) === t.after.sha256);
    rows.check(
      `${where}: recovery once space is freed`,
      recovered.length === ts.length,
      `${recovered.length}/${ts.length}: the same request → 200, bytes = a build on a disk that never filled`,
      'all',
    );
  }
  return rows;
}
