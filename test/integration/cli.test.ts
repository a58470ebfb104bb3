/**
 * The CLI end to end: `import` of a release bundle (directory and tarball) into a local layout
 * store and into a real registry, then `build` of an asset offline with the same engine.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../fixtures/exec.js';
import type { FixtureManifest } from '../fixtures/manifest.js';
import { runCli } from '../helpers/cli.js';
import { makeTestFactory } from '../helpers/factory.js';
import { fixtureReleases } from '../helpers/fixture-factory.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';

const OFFERED = ['v1.5.5', 'v1.8.3', 'v1.10.6', 'v1.11.0-beta.1'];

describe('image-factory CLI', { timeout: 900_000 }, () => {
  let fx: FixtureManifest;
  let dir: string;
  let registry: RunningRegistry | undefined;
  before(async () => {
    fx = await fixtureReleases();
    dir = await mkdtemp(join(tmpdir(), 'if-cli-'));
  });
  after(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('import of a tarball into the local layout store, then serving it offline', async () => {
    const tarball = join(dir, 'release.tar');
    // Tar a private copy: other test files hard-link fixture blobs concurrently, which changes
    // their ctime and makes GNU tar report "file changed as we read it".
    const copy = join(dir, 'copy');
    await run('cp', ['-r', fx.root, copy]);
    await run('tar', ['-C', copy, '-cf', tarball, 'siderolabs']);
    const store = join(dir, 'store');
    const env = {
      IMAGE_FACTORY__artifacts__source: 'oci-layout',
      IMAGE_FACTORY__artifacts__layoutDir: store,
    };
    const res = await runCli(['import', tarball], env);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /imported siderolabs\/imager: .*v1\.10\.6/);
    // Importing twice is harmless (tags replaced, blobs kept).
    assert.equal((await runCli(['import', fx.root], env)).code, 0);
    const t = await makeTestFactory({ artifacts: { source: 'oci-layout', layoutDir: store } });
    try {
      assert.deepEqual((await t.factory.app.inject('/versions')).json(), OFFERED);
    } finally {
      await t.cleanup();
    }
  });

  it('import into a registry, then serving from it', async () => {
    registry = await startRegistry();
    const env = {
      IMAGE_FACTORY__artifacts__core__registry: registry.host,
      IMAGE_FACTORY__artifacts__core__insecure: 'true',
    };
    const res = await runCli(['import', fx.root], env);
    assert.equal(res.code, 0, res.stderr);
    const t = await makeTestFactory({
      artifacts: { source: 'registry', core: { registry: registry.host, insecure: true } },
    });
    try {
      assert.deepEqual((await t.factory.app.inject('/versions')).json(), OFFERED);
      const ext = await t.factory.app.inject('/version/v1.8.3/extensions/official');
      assert.equal(ext.statusCode, 200, ext.body);
    } finally {
      await t.cleanup();
    }
  });

  it('rejects a bundle that is not one, naming it', async () => {
    const bogus = join(dir, 'bogus.tar');
    await writeFile(bogus, 'not a tarball');
    const res = await runCli(['import', bogus], {
      IMAGE_FACTORY__artifacts__source: 'oci-layout',
      IMAGE_FACTORY__artifacts__layoutDir: join(dir, 'x'),
    });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /bogus\.tar/);
  });

  it('build writes the same bytes the HTTP API serves', async () => {
    const dataDir = join(dir, 'data');
    // The external URL is stamped into the virtual extension's author: same URL, same bytes.
    const env = {
      IMAGE_FACTORY__artifacts__source: 'oci-layout',
      IMAGE_FACTORY__artifacts__layoutDir: fx.root,
      IMAGE_FACTORY_DATA_DIR: dataDir,
      IMAGE_FACTORY_EXTERNAL_URL: 'https://factory.example/',
    };
    const schematic = join(dir, 'schematic.yaml');
    await writeFile(
      schematic,
      'customization:\n  systemExtensions:\n    officialExtensions: [siderolabs/hello-world-service]\n',
    );
    const out = join(dir, 'initramfs.xz');
    const res = await runCli(
      ['build', '--schematic', schematic, '--version', 'v1.10.6', 'initramfs-amd64.xz', '-o', out],
      env,
    );
    assert.equal(res.code, 0, res.stderr);
    const sha = createHash('sha256')
      .update(await readFile(out))
      .digest('hex');
    assert.match(res.stderr, new RegExp(`sha256 ${sha}`));

    const t = await makeTestFactory({
      artifacts: { source: 'oci-layout', layoutDir: fx.root },
      http: { externalURL: 'https://factory.example/' },
    });
    try {
      const id = (
        await t.factory.app.inject({ method: 'POST', url: '/schematics', payload: await readFile(schematic) })
      ).json().id as string;
      const http = await t.factory.app.inject(`/image/${id}/v1.10.6/initramfs-amd64.xz`);
      assert.equal(http.statusCode, 200);
      assert.equal(
        createHash('sha256').update(http.rawPayload).digest('hex'),
        sha,
        'builds are reproducible across processes',
      );
    } finally {
      await t.cleanup();
    }
  });

  it('build reports bad input with exit code 2 and the upstream message', async () => {
    const env = {
      IMAGE_FACTORY__artifacts__source: 'oci-layout',
      IMAGE_FACTORY__artifacts__layoutDir: fx.root,
      IMAGE_FACTORY_DATA_DIR: join(dir, 'd2'),
    };
    const res = await runCli(
      ['build', '--schematic', 'a'.repeat(64), '--version', 'v1.10.6', 'kernel-amd64', '-o', join(dir, 'k')],
      env,
    );
    assert.equal(res.code, 2);
    assert.match(res.stderr, /schematic ID "a{64}" not found/);
    const bad = join(dir, 's.yaml');
    await writeFile(bad, '{}');
    const res2 = await runCli(
      ['build', '--schematic', bad, '--version', 'v1.10.6', 'metal-amd64.ssd', '-o', join(dir, 'k')],
      env,
    );
    assert.equal(res2.code, 2);
    assert.match(res2.stderr, /invalid profile path: "metal-amd64\.ssd"/);
  });
});
