/**
 * Storage faults (issue 11): a full disk (a small tmpfs as the data dir) and a read-only data dir
 * (a read-only bind mount) answer `507 cache storage is full` / `503 storage is read-only` without
 * server paths, never a partial file; a cached blob changed on disk while the factory runs is
 * re-verified and never served; work dirs of a killed process are swept at start even when its
 * PID lives again. Mounting needs root: without it the fault tests are skipped.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processToken } from '../../src/util/process-lock.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';
import type { TestFactory } from '../helpers/factory.js';

const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const root = process.getuid?.() === 0;

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Fills the file system holding `dir` until a write fails with ENOSPC. */
async function fill(dir: string): Promise<void> {
  const fh = await open(join(dir, 'filler'), 'w');
  const block = Buffer.alloc(1 << 20);
  try {
    for (;;) await fh.write(block);
  } catch (e) {
    assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function assertNoServerPaths(body: string, dataDir: string): void {
  assert.ok(!body.includes(dataDir), `server path in ${JSON.stringify(body)}`);
  assert.ok(!/\/(tmp|work|var)\//.test(body), `path-like text in ${JSON.stringify(body)}`);
}

describe('storage faults', { timeout: 180_000, skip: !root && 'needs root to mount tmpfs' }, () => {
  let mnt: string;
  let t: TestFactory;
  before(async () => {
    mnt = await mkdtemp(join(tmpdir(), 'if-tmpfs-'));
    sh('mount', ['-t', 'tmpfs', '-o', 'size=96m', 'tmpfs', mnt]);
    ({ t } = await makeFixtureFactory({ dataDir: join(mnt, 'data') }));
    // Warm the release inputs and one cached asset while there is room.
    const k = await t.factory.app.inject({ method: 'GET', url: `/image/${EMPTY_ID}/v1.10.6/kernel-amd64` });
    assert.equal(k.statusCode, 200, k.body);
  });
  after(async () => {
    await t?.cleanup().catch(() => undefined);
    spawnSync('umount', ['-l', mnt]);
    await rm(mnt, { recursive: true, force: true });
  });

  it('full disk: POST /schematics and a new cmdline → 507 cache storage is full, no paths', async () => {
    await fill(mnt);
    try {
      const post = await t.factory.app.inject({
        method: 'POST',
        url: '/schematics',
        payload: 'customization: {extraKernelArgs: [disk=full]}',
      });
      assert.equal(post.statusCode, 507, post.body);
      assert.equal(post.body, 'cache storage is full\n');
      const json = await t.factory.app.inject({
        method: 'POST',
        url: '/schematics',
        payload: 'customization: {extraKernelArgs: [disk=full2]}',
        headers: { accept: 'application/json' },
      });
      assert.deepEqual(json.json(), { code: 'STORAGE_FULL', message: 'cache storage is full' });
      const cmdline = await t.factory.app.inject({
        method: 'GET',
        url: `/image/${EMPTY_ID}/v1.10.6/cmdline-metal-arm64`,
      });
      assert.equal(cmdline.statusCode, 507, cmdline.body);
      assertNoServerPaths(cmdline.body, t.dataDir);
      const initramfs = await t.factory.app.inject({
        method: 'GET',
        url: `/image/${EMPTY_ID}/v1.10.6/initramfs-amd64.xz`,
      });
      assert.ok([507].includes(initramfs.statusCode), `${initramfs.statusCode} ${initramfs.body}`);
      assertNoServerPaths(initramfs.body, t.dataDir);
      // What was cached before the disk filled is still served whole.
      const k = await t.factory.app.inject({ method: 'GET', url: `/image/${EMPTY_ID}/v1.10.6/kernel-amd64` });
      assert.equal(k.statusCode, 200);
      assert.equal(`"${sha256(k.rawPayload)}"`, k.headers.etag);
    } finally {
      await rm(join(mnt, 'filler'), { force: true });
    }
    // With room again, the same requests succeed: nothing partial was kept.
    const cmdline = await t.factory.app.inject({
      method: 'GET',
      url: `/image/${EMPTY_ID}/v1.10.6/cmdline-metal-arm64`,
    });
    assert.equal(cmdline.statusCode, 200, cmdline.body);
    assert.equal(`"${sha256(cmdline.rawPayload)}"`, cmdline.headers.etag);
  });

  it('read-only data dir: POST /schematics and a new build → 503 storage is read-only', async () => {
    const data = t.dataDir;
    sh('mount', ['--bind', data, data]);
    try {
      sh('mount', ['-o', 'remount,ro,bind', data]);
      const post = await t.factory.app.inject({
        method: 'POST',
        url: '/schematics',
        payload: 'customization: {extraKernelArgs: [read=only]}',
      });
      assert.equal(post.statusCode, 503, post.body);
      assert.equal(post.body, 'storage is read-only\n');
      const cmdline = await t.factory.app.inject({
        method: 'GET',
        url: `/image/${EMPTY_ID}/v1.10.6/cmdline-metal-amd64-readonly`.replace('-readonly', ''),
      });
      // Either already cached (200, read-only is fine for reads) or refused as read-only.
      assert.ok([200, 503].includes(cmdline.statusCode), `${cmdline.statusCode} ${cmdline.body}`);
      const fresh = await t.factory.app.inject({
        method: 'GET',
        url: `/image/${EMPTY_ID}/v1.8.3/cmdline-aws-amd64`,
      });
      assert.equal(fresh.statusCode, 503, fresh.body);
      assertNoServerPaths(fresh.body, data);
    } finally {
      spawnSync('umount', [data]);
    }
  });

  it('a cached blob changed on disk is re-verified: rebuilt, never served with the old ETag', async () => {
    const url = `/image/${EMPTY_ID}/v1.10.6/kernel-amd64`;
    const first = await t.factory.app.inject({ method: 'GET', url });
    assert.equal(first.statusCode, 200);
    const etag = String(first.headers.etag);
    const blob = join(t.dataDir, 'assets', 'blobs', etag.replace(/"/g, ''));
    assert.ok(existsSync(blob));
    const fh = await open(blob, 'r+');
    await fh.write(Buffer.from([first.rawPayload[1000]! ^ 0xff]), 0, 1, 1000); // same size, one byte flipped
    await fh.close();
    const second = await t.factory.app.inject({ method: 'GET', url });
    assert.equal(second.statusCode, 200);
    assert.equal(
      `"${sha256(second.rawPayload)}"`,
      second.headers.etag,
      'the ETag is the hash of the bytes sent',
    );
    assert.ok(second.rawPayload.equals(first.rawPayload), 'the rebuilt asset is the original');
  });
});

describe('stale work dirs', () => {
  it('a restarted factory sweeps the work dir of a killed process whose PID lives again', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'if-test-'));
    const boot = processToken(1)!.split('.')[0];
    // What a kill -9'd PID-1 container leaves: PID 1 exists again, but it is another process.
    const stale = join(dataDir, 'work', `1-${boot}.1`, 'build-AbCdEf');
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, 'partial'), 'x');
    const { t } = await makeFixtureFactory({ dataDir });
    try {
      const left = await readdir(join(dataDir, 'work'));
      assert.deepEqual(left, [`${process.pid}-${processToken(process.pid)}`]);
    } finally {
      await t.cleanup();
    }
  });
});
