/**
 * The installer asset (`installer-<arch>.tar`) over the fixture releases: a `docker load` archive
 * that skopeo reads as an image, with the base installer's first layer and an artifacts layer whose
 * files and zeroed metadata follow talos-imager §7; reproducible across factories; the UKI era
 * planned through the `uki` kind (501 until it exists; a stand-in proves the layout); the overlay
 * layer from the fixture overlay image.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { AssetKindModule } from '../../src/assets/asset-kind.js';
import { ASSET_KIND_MODULES } from '../../src/assets/kinds/index.js';
import { keptBaseLayers } from '../../src/builders/installer/build.js';
import { readDockerArchive } from '../../src/builders/formats/docker-archive.js';
import { readPe, readSection } from '../../src/builders/formats/pe/reader.js';
import type { FixtureManifest } from '../fixtures/manifest.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';

const run = promisify(execFile);
const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A stand-in `uki` kind: a few bytes naming its request (the real one comes with secure boot). */
const stubUki: AssetKindModule = {
  kind: 'uki',
  salt: 'stub-uki',
  plan(ctx) {
    const text = `stub UKI ${ctx.request.platform}-${ctx.request.arch}${ctx.request.secureBoot ? '-secureboot' : ''} ${ctx.version}\n`;
    return Promise.resolve({
      key: { text },
      light: true,
      async build(b) {
        const out = join(b.workDir, 'uki.efi');
        await writeFile(out, text);
        return out;
      },
    });
  },
};

interface TarMember {
  mode: string;
  owner: string;
  size: number;
  date: string;
  name: string;
}

/** `tar -tv` of a (compressed) layer, parsed. */
async function listLayer(file: string): Promise<TarMember[]> {
  const { stdout } = await run('tar', ['--numeric-owner', '-tvf', file]);
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const [mode, owner, size, date, time, ...name] = line.split(/\s+/);
      return {
        mode: mode!,
        owner: owner!,
        size: Number(size),
        date: `${date} ${time}`,
        name: name.join(' '),
      };
    });
}

describe('installer asset (docker archive)', { timeout: 300_000 }, () => {
  let t: TestFactory;
  let fx: FixtureManifest;
  let work: string;
  let extId: string;

  before(async () => {
    ({ t, fixtures: fx } = await makeFixtureFactory(
      { http: { externalURL: 'http://factory.test/' } },
      { kinds: { ...ASSET_KIND_MODULES, uki: stubUki } },
    ));
    work = await mkdtemp(join(tmpdir(), 'if-installer-'));
    const res = await t.factory.app.inject({ method: 'POST', url: '/schematics', payload: '{}' });
    assert.equal(res.statusCode, 201);
    const ext = await t.factory.app.inject({
      method: 'POST',
      url: '/schematics',
      payload:
        'customization:\n  systemExtensions:\n    officialExtensions: [siderolabs/hello-world-service]\n',
    });
    extId = (ext.json() as { id: string }).id;
  });
  after(async () => {
    await t?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function download(factory: TestFactory, path: string): Promise<Buffer> {
    const res = await factory.factory.app.inject({ method: 'GET', url: path });
    assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
    return res.rawPayload;
  }

  /** Unpacks a docker archive into `dir` and returns its manifest.json entry. */
  async function unpack(
    bytes: Buffer,
    dir: string,
  ): Promise<{ Config: string; RepoTags: string[]; Layers: string[] }> {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'archive.tar'), bytes);
    await run('tar', ['-xf', join(dir, 'archive.tar'), '-C', dir]);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as [
      { Config: string; RepoTags: string[]; Layers: string[] },
    ];
    return manifest[0];
  }

  for (const [version, arch] of [
    ['v1.5.5', 'amd64'],
    ['v1.8.3', 'arm64'],
  ] as const) {
    it(`${version} ${arch}: skopeo reads it; first base layer kept, artifacts layer = kernel + initramfs assets`, async () => {
      const base = `/image/${extId}/${version}`;
      const bytes = await download(t, `${base}/installer-${arch}.tar`);
      const kernel = await download(t, `${base}/kernel-${arch}`);
      const initramfs = await download(t, `${base}/initramfs-${arch}.xz`);
      const dir = join(work, `${version}-${arch}`);
      const m = await unpack(bytes, dir);
      assert.deepEqual(m.RepoTags, [`factory.test/installer/${extId}:${version}`]);
      assert.equal(m.Layers.length, 2);
      assert.match(m.Config, /^sha256:[a-f0-9]{64}$/);

      const { stdout } = await run('skopeo', ['inspect', `docker-archive:${join(dir, 'archive.tar')}`]);
      const inspect = JSON.parse(stdout) as {
        Architecture: string;
        Os: string;
        Layers: string[];
        Env: string[];
      };
      assert.equal(inspect.Architecture, arch);
      assert.equal(inspect.Os, 'linux');
      assert.equal(inspect.Layers.length, 2);
      assert.ok(inspect.Env.includes(`VERSION=${version}`), inspect.Env.join(' '));

      const config = JSON.parse(await readFile(join(dir, m.Config), 'utf8')) as {
        architecture: string;
        os: string;
        rootfs: { diff_ids: string[] };
        config: { Entrypoint: string[] };
      };
      assert.deepEqual(config.config.Entrypoint, ['/bin/installer']);
      assert.equal(config.rootfs.diff_ids.length, 2);

      const baseLayer = await listLayer(join(dir, m.Layers[0]!));
      assert.ok(
        baseLayer.some((e) => e.name === 'bin/installer'),
        JSON.stringify(baseLayer),
      );
      assert.ok(!baseLayer.some((e) => e.name.startsWith('usr/install')), 'stock artifacts layer dropped');

      const artifacts = await listLayer(join(dir, m.Layers[1]!));
      assert.deepEqual(
        artifacts.map((e) => e.name),
        [`usr/install/${arch}/initramfs.xz`, `usr/install/${arch}/vmlinuz`],
      );
      for (const e of artifacts) {
        assert.equal(e.mode, '----------', `${e.name} mode`);
        assert.equal(e.owner, '0/0');
        assert.match(e.date, /^1970-01-01 00:00/);
      }
      const out = join(dir, 'artifacts');
      await mkdir(out);
      await run('tar', ['-xf', join(dir, m.Layers[1]!), '-C', out]);
      assert.equal(sha256(await readFile(join(out, `usr/install/${arch}/vmlinuz`))), sha256(kernel));
      assert.equal(sha256(await readFile(join(out, `usr/install/${arch}/initramfs.xz`))), sha256(initramfs));
      // diff_id of the artifacts layer = sha256 of its uncompressed tar.
      const { stdout: raw } = await run('sh', ['-c', `gzip -dc < '${join(dir, m.Layers[1]!)}' | sha256sum`]);
      assert.equal(config.rootfs.diff_ids[1], `sha256:${raw.split(' ')[0]}`);

      // Our own reader (the registry frontend's) agrees and verifies every member.
      const image = await readDockerArchive(
        [bytes],
        { maxConfigBytes: 1 << 20, maxLayerBytes: 1 << 30 },
        'test',
      );
      assert.equal(image.layers.length, 2);
      for (const l of image.layers) {
        assert.equal(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
        assert.equal(`sha256:${sha256(bytes.subarray(l.offset, l.offset + l.size))}`, l.digest);
      }
      assert.equal(fx.versions.find((v) => v.spec.tag === version)?.installerLayers, 2);
    });
  }

  it('is reproducible: a second factory (fresh data dir) builds the same bytes', async () => {
    const path = `/image/${EMPTY_ID}/v1.5.5/installer-amd64.tar`;
    const first = await download(t, path);
    const { t: other } = await makeFixtureFactory({ http: { externalURL: 'http://factory.test/' } });
    try {
      await other.factory.app.inject({ method: 'POST', url: '/schematics', payload: '{}' });
      assert.equal(sha256(await download(other, path)), sha256(first));
    } finally {
      await other.cleanup();
    }
  });

  it('UKI era (v1.10.6): installer-base kept whole, artifacts = vmlinuz.efi (the uki asset) + systemd-boot.efi', async () => {
    const bytes = await download(t, `/image/${EMPTY_ID}/v1.10.6/metal-installer-amd64.tar`);
    const dir = join(work, 'uki');
    const m = await unpack(bytes, dir);
    assert.equal(m.Layers.length, 2, 'installer-base has one layer, plus the artifacts layer');
    const artifacts = await listLayer(join(dir, m.Layers[1]!));
    assert.deepEqual(
      artifacts.map((e) => e.name),
      ['usr/install/amd64/systemd-boot.efi', 'usr/install/amd64/vmlinuz.efi'],
    );
    const out = join(dir, 'artifacts');
    await mkdir(out);
    await run('tar', ['-xf', join(dir, m.Layers[1]!), '-C', out]);
    assert.equal(
      await readFile(join(out, 'usr/install/amd64/vmlinuz.efi'), 'utf8'),
      'stub UKI metal-amd64 v1.10.6\n',
    );
    const sdboot = await readFile(
      join(fx.root, fx.versions.find((v) => v.spec.tag === 'v1.10.6')!.artifacts.amd64!.systemdBoot),
    );
    assert.equal(sha256(await readFile(join(out, 'usr/install/amd64/systemd-boot.efi'))), sha256(sdboot));
  });

  it('with the real uki kind the UKI era carries a UKI with the installer cmdline; secure boot off → 400', async () => {
    const { t: plain } = await makeFixtureFactory();
    try {
      await plain.factory.app.inject({ method: 'POST', url: '/schematics', payload: '{}' });
      const res = await plain.factory.app.inject(`/image/${EMPTY_ID}/v1.10.6/installer-amd64.tar`);
      assert.equal(res.statusCode, 200, res.body);
      const dir = join(work, 'real-uki');
      const m = await unpack(res.rawPayload, dir);
      const out = join(dir, 'artifacts');
      await mkdir(out);
      await run('tar', ['-xf', join(dir, m.Layers[1]!), '-C', out]);
      const uki = join(out, 'usr/install/amd64/vmlinuz.efi');
      const pe = await readPe(uki, 'installer UKI');
      const names = pe.sections.map((x) => x.name);
      for (const n of ['.osrel', '.cmdline', '.linux', '.initrd'])
        assert.ok(names.includes(n), `${n} in ${names.join(',')}`);
      const cmdline = await readSection(
        uki,
        pe.sections.find((x) => x.name === '.cmdline')!,
        true,
      );
      const expected = await plain.factory.app.inject(`/image/${EMPTY_ID}/v1.10.6/cmdline-metal-amd64`);
      assert.equal(cmdline.toString('utf8'), expected.body);
      for (const path of [
        `/image/${EMPTY_ID}/v1.10.6/installer-amd64-secureboot.tar`,
        `/image/${EMPTY_ID}/v1.5.5/installer-amd64-secureboot.tar`,
      ]) {
        const sb = await plain.factory.app.inject(path);
        assert.equal(sb.statusCode, 400, sb.body);
        assert.match(sb.body, /secure boot is disabled/);
      }
    } finally {
      await plain.cleanup();
    }
  });

  it('with an overlay: a third layer of overlay/artifacts (dirs, real modes), installers/default, extra-options', async () => {
    const create = async (yaml: string): Promise<string> => {
      const res = await t.factory.app.inject({ method: 'POST', url: '/schematics', payload: yaml });
      assert.equal(res.statusCode, 201, res.body);
      return (res.json() as { id: string }).id;
    };
    const id = await create(
      `overlay:\n  image: siderolabs/sbc-fixture\n  name: ${fx.overlay.name}\n  options:\n    kernelArg: fixture.extra=1\n`,
    );
    const bytes = await download(t, `/image/${id}/v1.8.3/installer-arm64.tar`);
    const dir = join(work, 'overlay');
    const m = await unpack(bytes, dir);
    assert.equal(m.Layers.length, 3);
    const layer = await listLayer(join(dir, m.Layers[2]!));
    const byName = new Map(layer.map((e) => [e.name.replace(/\/$/, ''), e]));
    assert.deepEqual(
      [...byName.keys()],
      [
        'overlay/artifacts/arm64',
        'overlay/artifacts/arm64/dtb',
        'overlay/artifacts/arm64/dtb/fixture',
        `overlay/artifacts/arm64/dtb/fixture/${fx.overlay.name}.dtb`,
        'overlay/artifacts/arm64/u-boot',
        `overlay/artifacts/arm64/u-boot/${fx.overlay.name}`,
        `overlay/artifacts/arm64/u-boot/${fx.overlay.name}/u-boot.bin`,
        'overlay/extra-options',
        'overlay/installers/default',
      ],
    );
    assert.equal(byName.get('overlay/artifacts/arm64')?.mode, 'drwxr-xr-x');
    assert.equal(byName.get('overlay/installers/default')?.mode, '-rwxr-xr-x');
    assert.equal(byName.get('overlay/extra-options')?.mode, '-rw-r--r--');
    for (const e of layer) assert.equal(e.owner, '0/0');
    const out = join(dir, 'files');
    await mkdir(out);
    await run('tar', ['-xf', join(dir, m.Layers[2]!), '-C', out]);
    assert.equal(await readFile(join(out, 'overlay/extra-options'), 'utf8'), 'kernelArg: fixture.extra=1\n');
    assert.match(await readFile(join(out, 'overlay/installers/default'), 'utf8'), /get-options/);
    // An overlay the version's catalog does not have is the user's mistake.
    const missing = await create('overlay:\n  image: siderolabs/sbc-fixture\n  name: no-such-board\n');
    const res = await t.factory.app.inject(`/image/${missing}/v1.8.3/installer-arm64.tar`);
    assert.equal(res.statusCode, 400, res.body);
    assert.match(
      res.body,
      /overlay "no-such-board" \(siderolabs\/sbc-fixture\) is not available for Talos version v1\.8\.3/,
    );
  });

  it('kept base layers follow the version table', () => {
    const old = { supportsUnifiedInstaller: false };
    const unified = { supportsUnifiedInstaller: true };
    assert.deepEqual(keptBaseLayers(2, old), [0]);
    assert.deepEqual(keptBaseLayers(3, old), [0]);
    assert.deepEqual(keptBaseLayers(1, unified), [0]);
    assert.deepEqual(keptBaseLayers(2, unified), [0]);
    assert.deepEqual(keptBaseLayers(3, unified), [0, 1, 2]);
  });
});
