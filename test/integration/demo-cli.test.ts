/**
 * `image-factory demo` (issue 11): the demo release is product code. It builds amd64 and arm64
 * into `<data-dir>/demo-release` (honouring `--data-dir`), prints that directory, keeps it on a
 * second run, and a factory over it serves every link and PXE script for both arches — also for
 * the well-known empty schematic without a POST. The test shares the test cache (`--cache`), so
 * it copies the prepared fixture set instead of downloading again.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FixtureManifest } from '../fixtures/manifest.js';
import { runCli } from '../helpers/cli.js';
import { makeTestFactory, type TestFactory } from '../helpers/factory.js';
import { CACHE_DIR } from '../helpers/paths.js';

const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';

describe('image-factory demo', { timeout: 600_000 }, () => {
  let dir: string;
  let demo: string;
  let t: TestFactory | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'if-demo-'));
  });
  after(async () => {
    await t?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('builds amd64 and arm64 into <data-dir>/demo-release and prints it', async () => {
    const res = await runCli(['demo', '--data-dir', join(dir, 'data'), '--cache', CACHE_DIR, '--quiet']);
    assert.equal(res.code, 0, res.stderr);
    demo = res.stdout.trim();
    assert.equal(demo, join(dir, 'data', 'demo-release'));
    const m = JSON.parse(await readFile(join(demo, 'fixture-manifest.json'), 'utf8')) as FixtureManifest;
    assert.deepEqual(m.arches, ['amd64', 'arm64']);
    assert.ok(existsSync(join(demo, 'siderolabs', 'imager', 'index.json')));
  });

  it('keeps an existing demo release (a second run is instant and prints the same directory)', async () => {
    const t0 = Date.now();
    const res = await runCli(['demo', '--data-dir', join(dir, 'data'), '--quiet']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), demo);
    assert.ok(Date.now() - t0 < 30_000);
  });

  it('a factory over it serves both arches: kernel, initramfs, cmdline and PXE scripts', async () => {
    const f: TestFactory = await makeTestFactory({
      dataDir: join(dir, 'data'),
      artifacts: { source: 'oci-layout', layoutDir: demo },
    });
    t = f;
    for (const arch of ['amd64', 'arm64']) {
      for (const path of [`kernel-${arch}`, `initramfs-${arch}.xz`, `cmdline-metal-${arch}`]) {
        const res = await f.factory.app.inject({ method: 'HEAD', url: `/image/${EMPTY_ID}/v1.10.6/${path}` });
        assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
      }
      const pxe = await f.factory.app.inject({
        method: 'GET',
        url: `/pxe/${EMPTY_ID}/v1.10.6/metal-${arch}`,
      });
      assert.equal(pxe.statusCode, 200, pxe.body);
      assert.match(pxe.body, new RegExp(`kernel-${arch}`));
    }
  });

  it('rejects an unknown arch with exit code 2', async () => {
    const res = await runCli(['demo', '--data-dir', join(dir, 'data'), '--arches', 'riscv64']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown arch "riscv64"/);
  });
});
