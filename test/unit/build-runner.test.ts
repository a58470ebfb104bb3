/** BuildRunner: single-flight, failures not cached, waiters may leave, timeouts, concurrency cap. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BuildRunner } from '../../src/assets/build-runner.js';
import { FsAssetCache } from '../../src/cache/fs-cache.js';
import { FactoryError } from '../../src/errors.js';
import { reportBuildReuse, reportBuildStep } from '../../src/util/build-progress.js';

describe('BuildRunner', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'if-runner-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const runner = (opts: { maxConcurrency?: number; timeoutMs?: number; maxQueue?: number } = {}) =>
    new BuildRunner({
      ...(opts.maxQueue !== undefined ? { maxQueue: opts.maxQueue } : {}),
      cache: new FsAssetCache({
        dir: join(dir, `cache-${randomBytes(4).toString('hex')}`),
        maxBytes: 1 << 30,
      }),
      maxConcurrency: opts.maxConcurrency ?? 2,
      timeoutMs: opts.timeoutMs ?? 10_000,
      workRoot: dir,
    });
  const key = () => randomBytes(32).toString('hex');

  it('100 concurrent requests share one build and get identical assets', async () => {
    const r = runner();
    let builds = 0;
    const k = key();
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        r.get(k, async (work) => {
          builds++;
          await sleep(50);
          const f = join(work, 'out');
          await writeFile(f, 'payload');
          return f;
        }),
      ),
    );
    assert.equal(builds, 1);
    assert.equal(new Set(results.map((a) => a.sha256)).size, 1);
    const again = await r.get(k, async () => assert.fail('must hit the cache'));
    assert.equal(again.sha256, results[0]!.sha256);
    assert.equal(r.stats.cacheHits, 1);
  });

  it('does not cache failures', async () => {
    const r = runner();
    const k = key();
    await assert.rejects(
      r.get(k, async () => {
        throw new FactoryError('BUILD_FAILED', 'mksquashfs exited 1: boom');
      }),
      /mksquashfs exited 1/,
    );
    const ok = await r.get(k, async (work) => {
      await writeFile(join(work, 'o'), 'x');
      return join(work, 'o');
    });
    assert.equal(ok.size, 1);
  });

  it('a waiter that leaves does not cancel the build', async () => {
    const r = runner();
    const k = key();
    const ac = new AbortController();
    let finished = false;
    const build = async (work: string) => {
      await sleep(100);
      await writeFile(join(work, 'o'), 'done');
      finished = true;
      return join(work, 'o');
    };
    const leaving = r.get(k, build, ac.signal);
    ac.abort(new Error('client went away'));
    await assert.rejects(leaving, /client went away/);
    const staying = await r.get(k, build);
    assert.equal(finished, true);
    assert.equal(staying.size, 4);
    assert.equal(r.stats.builds, 1);
  });

  it('times out a stuck build with BUILD_TIMEOUT', async () => {
    const r = runner({ timeoutMs: 100 });
    await assert.rejects(
      r.get(
        key(),
        (_w, signal) =>
          new Promise((_res, rej) => signal.addEventListener('abort', () => rej(signal.reason))),
      ),
      (e: unknown) => e instanceof FactoryError && e.code === 'BUILD_TIMEOUT',
    );
  });

  it('the timeout counts from when a build starts, not while it waits for a slot', async () => {
    // Three 600 ms builds through one slot: the last waits 1.2 s, more than the 1 s timeout.
    const r = runner({ maxConcurrency: 1, timeoutMs: 1000 });
    const slow = (ms: number) => async (work: string) => {
      await sleep(ms);
      await writeFile(join(work, 'o'), randomBytes(8));
      return join(work, 'o');
    };
    const results = await Promise.all([
      r.get(key(), slow(200)),
      r.get(key(), slow(200)),
      r.get(key(), slow(200)),
    ]);
    assert.equal(results.length, 3);
    assert.equal(r.stats.failures, 0);
  });

  it('light builds do not wait behind long ones', async () => {
    const r = runner({ maxConcurrency: 1 });
    let longDone = false;
    const long = r.get(key(), async (work) => {
      await sleep(2000); // far longer than the light build, even on a loaded machine
      longDone = true;
      await writeFile(join(work, 'o'), 'long');
      return join(work, 'o');
    });
    await r.get(
      key(),
      async (work) => {
        await writeFile(join(work, 'o'), 'light');
        return join(work, 'o');
      },
      undefined,
      { light: true },
    );
    assert.equal(longDone, false, 'the light build finished first');
    await long;
  });

  it('refuses builds beyond the queue bound with BUSY', async () => {
    const r = runner({ maxConcurrency: 1, maxQueue: 1 });
    const build = async (work: string) => {
      await sleep(100);
      await writeFile(join(work, 'o'), randomBytes(8));
      return join(work, 'o');
    };
    const results = await Promise.allSettled([r.get(key(), build), r.get(key(), build), r.get(key(), build)]);
    // Which request gets the slot, the queue place or the refusal depends on I/O order: count them.
    assert.equal(results.filter((x) => x.status === 'fulfilled').length, 2);
    const refused = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
    assert.equal(refused.length, 1);
    assert.ok(refused[0]!.reason instanceof FactoryError && refused[0]!.reason.code === 'BUSY');
  });

  it('close() aborts running builds', async () => {
    const r = runner();
    const p = r.get(
      key(),
      (_w, signal) => new Promise((_res, rej) => signal.addEventListener('abort', () => rej(signal.reason))),
    );
    await sleep(50);
    r.close();
    await assert.rejects(p, (e: unknown) => e instanceof FactoryError && e.code === 'NOT_READY');
  });

  it('never runs more than maxConcurrency builds at once', async () => {
    const r = runner({ maxConcurrency: 2 });
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        r.get(key(), async (work) => {
          active++;
          peak = Math.max(peak, active);
          await sleep(30);
          active--;
          await writeFile(join(work, 'o'), randomBytes(8));
          return join(work, 'o');
        }),
      ),
    );
    assert.equal(peak, 2);
  });

  it('status names the current step and the intermediates reused so far', async () => {
    const r = runner();
    const k = key();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const done = r.get(k, async (work, signal) => {
      reportBuildReuse('squashfs siderolabs/amd-ucode', signal);
      reportBuildReuse('modules.dep', signal);
      reportBuildStep('initramfs: compress appendix (zstd)', signal);
      await gate;
      const f = join(work, 'out');
      await writeFile(f, 'x');
      return f;
    });
    for (let i = 0; i < 100 && r.status(k)?.state !== 'building'; i++) await sleep(5);
    await sleep(20);
    const st = r.status(k);
    assert.equal(st?.state, 'building');
    assert.ok(st?.state === 'building');
    assert.equal(st.step, 'initramfs: compress appendix (zstd)');
    assert.deepEqual(st.reused, ['squashfs siderolabs/amd-ucode', 'modules.dep']);
    release();
    await done;
    assert.equal(r.status(k), undefined);
  });
});
