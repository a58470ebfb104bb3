/**
 * Build-time bounds and refusals of issue 11 over the fixture releases: a schematic naming an
 * extension twice, or more extensions than `build.maxExtensions`, is stored (like upstream) but
 * its initramfs is a 400 naming the cause, before any download or build slot is taken; Secure
 * Boot requests without Secure Boot configured are a 400; PXE scripts for an arch the release
 * has no build of are a 404 naming the arch.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildFixtureReleases } from '../fixtures/build.js';
import { AMD64_ONLY_SET } from '../fixtures/sets.js';
import { makeTestFactory, type TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';

const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';

async function create(t: TestFactory, yaml: string): Promise<string> {
  const res = await t.factory.app.inject({ method: 'POST', url: '/schematics', payload: yaml });
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as { id: string }).id;
}

function extensions(names: readonly string[]): string {
  return `customization:\n  systemExtensions:\n    officialExtensions:\n${names.map((n) => `      - ${n}\n`).join('')}`;
}

describe('build amplification and refusals over the fixture releases', { timeout: 180_000 }, () => {
  let t: TestFactory;
  before(async () => {
    ({ t } = await makeFixtureFactory({ build: { maxExtensions: 3 } }));
  });
  after(() => t?.cleanup());

  it('an extension named twice (or 1000 times) → 400 naming it, no build run', async () => {
    for (const n of [2, 1000]) {
      const id = await create(t, extensions(Array(n).fill('siderolabs/amd-ucode')));
      const res = await t.factory.app.inject({
        method: 'GET',
        url: `/image/${id}/v1.10.6/initramfs-amd64.xz`,
      });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(
        res.body,
        'error enhancing profile from schematic: extension "siderolabs/amd-ucode" is listed more than once\n',
      );
    }
    assert.equal(t.factory.runner.stats.builds, 0);
  });

  it('more extensions than build.maxExtensions → 400 naming the cap', async () => {
    const id = await create(
      t,
      extensions([
        'siderolabs/amd-ucode',
        'siderolabs/intel-ucode',
        'siderolabs/realtek-firmware',
        'siderolabs/hello-world-service',
      ]),
    );
    const res = await t.factory.app.inject({ method: 'GET', url: `/image/${id}/v1.10.6/initramfs-amd64.xz` });
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.body, /4 extensions requested, at most 3 per build \(build\.maxExtensions\)/);
  });

  it('Secure Boot is not configured: -secureboot PXE scripts and cmdlines → 400', async () => {
    for (const url of [
      `/pxe/${EMPTY_ID}/v1.10.6/metal-amd64-secureboot`,
      `/image/${EMPTY_ID}/v1.10.6/cmdline-metal-amd64-secureboot`,
      `/image/${EMPTY_ID}/v1.10.6/metal-amd64-secureboot-uki.efi`,
    ]) {
      const res = await t.factory.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
      assert.match(res.body, /^error enhancing profile from schematic: secure boot is disabled/);
    }
  });

  it('the empty schematic is served on every route of a fresh factory without a POST', async () => {
    for (const url of [
      `/schematics/${EMPTY_ID}`,
      `/image/${EMPTY_ID}/v1.10.6/kernel-amd64`,
      `/image/${EMPTY_ID}/v1.10.6/cmdline-metal-arm64`,
      `/image/${EMPTY_ID}/v1.10.6/initramfs-arm64.xz`,
      `/pxe/${EMPTY_ID}/v1.10.6/metal-arm64`,
    ]) {
      const res = await t.factory.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    }
  });
});

describe('PXE for an arch the release has no build of', { timeout: 300_000 }, () => {
  let t: TestFactory;
  before(async () => {
    const fx = await buildFixtureReleases({
      ...AMD64_ONLY_SET,
      log: (l) => process.stderr.write(`[fixtures] ${l}\n`),
    });
    t = await makeTestFactory({ artifacts: { source: 'oci-layout', layoutDir: fx.root } });
  });
  after(() => t?.cleanup());

  it('→ 404 naming the arch; the arch the release has still boots', async () => {
    const arm = await t.factory.app.inject({ method: 'GET', url: `/pxe/${EMPTY_ID}/v1.10.6/metal-arm64` });
    assert.equal(arm.statusCode, 404, arm.body);
    assert.equal(arm.body, 'Talos v1.10.6 has no arm64 build: nothing to boot for arm64\n');
    const amd = await t.factory.app.inject({ method: 'GET', url: `/pxe/${EMPTY_ID}/v1.10.6/metal-amd64` });
    assert.equal(amd.statusCode, 200, amd.body);
  });
});
