/**
 * Build failures end to end, through `/image` over crafted copies of the fixture releases: hostile
 * but validly published extension content (digests fixed up through manifest, index, tag and
 * catalog) → 400 EXTENSION_INVALID naming extension and entry; a corrupted blob (digest left as
 * published) → 502 DIGEST_MISMATCH naming the digest, and after the blob is restored the next
 * request succeeds with the same bytes as a pristine release; a release whose base initramfs is
 * garbage (no known magic, or an xz header over garbage) → 502 at extraction, naming the file,
 * for every asset kind. Build failures are counted and never cached.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readTar } from '../../src/builders/formats/tar-reader.js';
import { ustarArchive, type UstarEntry } from '../../src/builders/formats/ustar.js';
import { copyTree } from '../fixtures/cache.js';
import type { FixtureManifest } from '../fixtures/manifest.js';
import type { TestFactory } from '../helpers/factory.js';
import { fixtureReleases, makeFixtureFactory } from '../helpers/fixture-factory.js';
import { CACHE_DIR } from '../helpers/paths.js';

const REF_NAME = 'org.opencontainers.image.ref.name';
const GZIP_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}
interface Manifest {
  config: Descriptor;
  layers: Descriptor[];
}
interface ImageConfig {
  rootfs?: { type: string; diff_ids: string[] };
}
interface Index {
  manifests: Descriptor[];
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A gzip tar layer from entries, with its diff_id. */
function gzipLayer(entries: readonly UstarEntry[]): { bytes: Buffer; diffId: string } {
  const tar = ustarArchive(entries);
  return { bytes: gzipSync(tar), diffId: `sha256:${sha256(tar)}` };
}

/** The members of a (gzip) tar layer, contents included. */
async function layerEntries(bytes: Buffer): Promise<UstarEntry[]> {
  const tar = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const out: UstarEntry[] = [];
  for await (const e of readTar([tar])) {
    const chunks: Buffer[] = [];
    for await (const c of e.content()) chunks.push(c);
    if (e.type !== 'file' && e.type !== 'directory' && e.type !== 'symlink') {
      throw new Error(`fixture layer member ${e.path} has unexpected type ${e.type}`);
    }
    out.push({
      name: e.path,
      type: e.type,
      mode: e.mode,
      mtime: e.mtime,
      uid: e.uid,
      gid: e.gid,
      ...(e.type === 'file' ? { data: Buffer.concat(chunks) } : {}),
      ...(e.type === 'symlink' ? { linkname: e.linkpath } : {}),
    });
  }
  return out;
}

/**
 * A writable copy of the fixture OCI layouts. Blobs are hard links into the shared fixture cache,
 * so a file is only ever replaced (unlink + create), never written in place.
 */
class CraftedReleases {
  private constructor(readonly root: string) {}

  /** Copies `fx.root` into a fresh directory under the test cache (same filesystem: links work). */
  static async copyOf(fx: FixtureManifest): Promise<CraftedReleases> {
    const root = await mkdtemp(join(CACHE_DIR, 'if-crafted-'));
    await copyTree(join(fx.root, fx.namespace), join(root, fx.namespace));
    return new CraftedReleases(root);
  }

  private dir(repo: string): string {
    return join(this.root, 'siderolabs', repo);
  }

  blobPath(repo: string, digest: string): string {
    return join(this.dir(repo), 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
  }

  readBlob(repo: string, digest: string): Promise<Buffer> {
    return readFile(this.blobPath(repo, digest));
  }

  async readJson<T>(repo: string, digest: string): Promise<T> {
    return JSON.parse((await this.readBlob(repo, digest)).toString('utf8')) as T;
  }

  /** Replaces a file's content without touching the inode other hard links share. */
  async replaceFile(path: string, bytes: Buffer | string): Promise<void> {
    await rm(path, { force: true });
    await writeFile(path, bytes);
  }

  /** Publishes a blob; returns its digest and size. */
  async putBlob(repo: string, bytes: Buffer | string): Promise<{ digest: string; size: number }> {
    const digest = `sha256:${sha256(bytes)}`;
    await this.replaceFile(this.blobPath(repo, digest), bytes);
    return { digest, size: Buffer.byteLength(bytes) };
  }

  /** The per-arch manifest descriptors and the top index digest of `repo:tag`. */
  async platforms(repo: string, tag: string): Promise<{ top: Descriptor; index: Index }> {
    const layout = JSON.parse(await readFile(join(this.dir(repo), 'index.json'), 'utf8')) as Index;
    const top = layout.manifests.find((m) => m.annotations?.[REF_NAME] === tag);
    assert.ok(top, `${repo}:${tag} in the fixture layout`);
    return { top, index: await this.readJson<Index>(repo, top.digest) };
  }

  /**
   * Re-publishes `repo:tag` after `mutate` edited per-arch manifests/configs (it returns false to
   * leave an arch alone): new config, manifest and index blobs, and the tag moved to the new index.
   * Returns the new index digest (what a catalog pins).
   */
  async rewriteImage(
    repo: string,
    tag: string,
    mutate: (arch: string, manifest: Manifest, config: ImageConfig) => Promise<boolean>,
  ): Promise<string> {
    const layoutPath = join(this.dir(repo), 'index.json');
    const layout = JSON.parse(await readFile(layoutPath, 'utf8')) as Index;
    const top = layout.manifests.find((m) => m.annotations?.[REF_NAME] === tag);
    assert.ok(top, `${repo}:${tag} in the fixture layout`);
    const index = await this.readJson<Index>(repo, top.digest);
    for (const desc of index.manifests) {
      const manifest = await this.readJson<Manifest>(repo, desc.digest);
      const config = await this.readJson<ImageConfig>(repo, manifest.config.digest);
      if (!(await mutate(desc.platform?.architecture ?? '', manifest, config))) continue;
      Object.assign(manifest.config, await this.putBlob(repo, JSON.stringify(config)));
      Object.assign(desc, await this.putBlob(repo, JSON.stringify(manifest)));
    }
    Object.assign(top, await this.putBlob(repo, JSON.stringify(index)));
    await this.replaceFile(layoutPath, JSON.stringify(layout));
    return top.digest;
  }

  /** Sets layer `i` of an image (blob, descriptor, diff_id). */
  async setLayer(
    repo: string,
    manifest: Manifest,
    config: ImageConfig,
    i: number,
    layer: { bytes: Buffer; diffId: string },
  ): Promise<void> {
    const blob = await this.putBlob(repo, layer.bytes);
    manifest.layers[i] = { mediaType: GZIP_LAYER, ...blob };
    if (config.rootfs) config.rootfs.diff_ids[i] = layer.diffId;
  }

  /** Re-publishes the extensions catalog of `version` with every `from` digest replaced by `to`. */
  async repointCatalog(version: string, from: string, to: string): Promise<void> {
    await this.rewriteImage('extensions', version, async (_arch, manifest, config) => {
      let changed = false;
      for (const [i, l] of manifest.layers.entries()) {
        const entries = await layerEntries(await this.readBlob('extensions', l.digest));
        let hit = false;
        for (const e of entries) {
          const text = e.data?.toString('utf8');
          if (text?.includes(from)) {
            e.data = Buffer.from(text.split(from).join(to));
            hit = true;
          }
        }
        if (hit) {
          await this.setLayer('extensions', manifest, config, i, gzipLayer(entries));
          changed = true;
        }
      }
      return changed;
    });
  }

  /** The single layer of an extension's amd64 image for `version` (digest and bytes). */
  async extensionLayer(fx: FixtureManifest, name: string, version: string): Promise<Descriptor> {
    const tag = fx.versions.find((v) => v.spec.tag === version)?.extensions.find((e) => e.name === name)?.tag;
    assert.ok(tag, `${name} for ${version}`);
    const { index } = await this.platforms(name, tag);
    const amd64 = index.manifests.find((m) => m.platform?.architecture === 'amd64');
    assert.ok(amd64);
    const manifest = await this.readJson<Manifest>(name, amd64.digest);
    assert.equal(manifest.layers.length, 1);
    return manifest.layers[0]!;
  }

  async cleanup(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

/** Names of every file below `dir` (for "nothing escaped" checks). */
async function allNames(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.map((e) => e.name);
}

async function createSchematic(t: TestFactory, extensions: string[]): Promise<string> {
  const yaml =
    extensions.length === 0
      ? '{}'
      : `customization:\n  systemExtensions:\n    officialExtensions: [${extensions.join(', ')}]\n`;
  const res = await t.factory.app.inject({ method: 'POST', url: '/schematics', payload: yaml });
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as { id: string }).id;
}

describe('build failures', { timeout: 120_000 }, () => {
  let fx: FixtureManifest;
  const cleanups: (() => Promise<void>)[] = [];
  before(async () => {
    fx = await fixtureReleases();
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  async function factoryOver(crafted: CraftedReleases): Promise<TestFactory> {
    const { t } = await makeFixtureFactory({ artifacts: { source: 'oci-layout', layoutDir: crafted.root } });
    cleanups.push(() => t.cleanup());
    return t;
  }

  async function crafted(): Promise<CraftedReleases> {
    const c = await CraftedReleases.copyOf(fx);
    cleanups.push(() => c.cleanup());
    return c;
  }

  it('hostile extension (`../escape`, validly published) → 400 EXTENSION_INVALID naming extension and entry, never cached', async (tc) => {
    const c = await crafted();
    const name = 'hello-world-service';
    const tag = fx.versions
      .find((v) => v.spec.tag === 'v1.8.3')
      ?.extensions.find((e) => e.name === name)?.tag;
    assert.ok(tag);
    const { top } = await c.platforms(name, tag);
    const newDigest = await c.rewriteImage(name, tag, async (arch, manifest, config) => {
      if (arch !== 'amd64') return false;
      const entries = await layerEntries(await c.readBlob(name, manifest.layers[0]!.digest));
      entries.push({ name: '../escape', type: 'file', mode: 0o644, data: Buffer.from('escaped\n') });
      await c.setLayer(name, manifest, config, 0, gzipLayer(entries));
      return true;
    });
    await c.repointCatalog('v1.8.3', top.digest, newDigest);

    const t = await factoryOver(c);
    // The catalog now pins the hostile image: it is "official" as far as the factory can tell.
    const listed = await t.factory.app.inject({ url: '/version/v1.8.3/extensions/official' });
    const entry = (listed.json() as { name: string; digest: string }[]).find(
      (e) => e.name === `siderolabs/${name}`,
    );
    assert.equal(entry?.digest, newDigest);

    const id = await createSchematic(t, [`siderolabs/${name}`]);
    const url = `/image/${id}/v1.8.3/initramfs-amd64.xz`;
    const stats = t.factory.runner.stats;
    for (let attempt = 1; attempt <= 2; attempt++) {
      const res = await t.factory.app.inject({ url, headers: { accept: 'application/json' } });
      assert.equal(res.statusCode, 400, res.body);
      const doc = res.json() as { code: string; message: string };
      assert.equal(doc.code, 'EXTENSION_INVALID');
      assert.match(doc.message, /siderolabs\/hello-world-service/);
      assert.match(doc.message, /entry "\.\.\/escape"/);
      if (attempt === 1) tc.diagnostic(doc.message);
      assert.equal(stats.builds, attempt, 'each request builds again: the failure was not cached');
      assert.equal(stats.failures, attempt);
    }
    assert.ok(
      !(await allNames(t.dataDir)).includes('escape'),
      'nothing was written outside the extraction root',
    );
    // The kernel and cmdline do not involve extensions: they still build.
    assert.equal(
      (await t.factory.app.inject({ url: `/image/${id}/v1.8.3/cmdline-metal-amd64` })).statusCode,
      200,
    );
  });

  it('corrupted blob (digest left) → 502 DIGEST_MISMATCH naming it; after restoring it the build succeeds', async (tc) => {
    const c = await crafted();
    const name = 'amd-ucode';
    const layer = await c.extensionLayer(fx, name, 'v1.8.3');
    const path = c.blobPath(name, layer.digest);
    const original = await readFile(path);
    const corrupt = Buffer.from(original);
    corrupt[corrupt.length - 20]! ^= 0xff;
    await c.replaceFile(path, corrupt);

    const t = await factoryOver(c);
    const id = await createSchematic(t, [`siderolabs/${name}`, 'siderolabs/hello-world-service']);
    const url = `/image/${id}/v1.8.3/initramfs-amd64.xz`;
    const stats = t.factory.runner.stats;
    const bad = await t.factory.app.inject({ url });
    assert.equal(bad.statusCode, 502, bad.body);
    assert.ok(bad.body.includes(layer.digest), `names the digest: ${bad.body}`);
    tc.diagnostic(bad.body.trimEnd());
    assert.match(bad.body, /siderolabs\/amd-ucode/);
    const json = await t.factory.app.inject({ url, headers: { accept: 'application/json' } });
    assert.equal((json.json() as { code: string }).code, 'DIGEST_MISMATCH');
    assert.equal(stats.failures, 2);

    await c.replaceFile(path, original);
    const good = await t.factory.app.inject({ url });
    assert.equal(good.statusCode, 200, good.body);
    assert.equal(stats.builds, 3);
    assert.equal(stats.failures, 2);

    // Nothing corrupt was kept: the result equals the same build over the pristine fixtures.
    const { t: pristine } = await makeFixtureFactory();
    cleanups.push(() => pristine.cleanup());
    await createSchematic(pristine, [`siderolabs/${name}`, 'siderolabs/hello-world-service']);
    const reference = await pristine.factory.app.inject({ url });
    assert.equal(reference.statusCode, 200, reference.body);
    assert.equal(good.headers['etag'], reference.headers['etag']);
  });

  it('corrupted manifest blob → 502 DIGEST_MISMATCH naming the manifest digest', async () => {
    const c = await crafted();
    const name = 'realtek-firmware';
    const tag = fx.versions
      .find((v) => v.spec.tag === 'v1.10.6')
      ?.extensions.find((e) => e.name === name)?.tag;
    assert.ok(tag);
    const { index } = await c.platforms(name, tag);
    const amd64 = index.manifests.find((m) => m.platform?.architecture === 'amd64');
    assert.ok(amd64);
    const path = c.blobPath(name, amd64.digest);
    await c.replaceFile(
      path,
      (await readFile(path, 'utf8')).replace('"schemaVersion":2', '"schemaVersion": 2'),
    );

    const t = await factoryOver(c);
    const id = await createSchematic(t, [`siderolabs/${name}`]);
    const res = await t.factory.app.inject({ url: `/image/${id}/v1.10.6/initramfs-amd64.xz` });
    assert.equal(res.statusCode, 502, res.body);
    assert.ok(res.body.includes(amd64.digest), res.body);
  });

  describe('a release whose base initramfs is garbage', () => {
    let t: TestFactory;
    const GARBAGE = Buffer.from('this is not an initramfs, just garbage bytes\n'.repeat(64));
    // Looks like xz for the first six bytes, then is not.
    const FAKE_XZ = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), GARBAGE]);

    before(async () => {
      const c = await crafted();
      // A later layer replaces usr/install/amd64/initramfs.xz, like a rebuilt release would.
      for (const [version, bytes] of [
        ['v1.8.3', GARBAGE],
        ['v1.10.6', FAKE_XZ],
      ] as const) {
        await c.rewriteImage('imager', version, async (_arch, manifest, config) => {
          const layer = gzipLayer([
            { name: 'usr/install/amd64/initramfs.xz', type: 'file', mode: 0o644, data: bytes },
          ]);
          manifest.layers.push({ mediaType: GZIP_LAYER, digest: '', size: 0 });
          config.rootfs?.diff_ids.push('');
          await c.setLayer('imager', manifest, config, manifest.layers.length - 1, layer);
          return true;
        });
      }
      t = await factoryOver(c);
    });

    it('versions whose imager was not touched still serve', async () => {
      const id = await createSchematic(t, []);
      // The kernel is untouched by the crafted layer.
      const kernel = await t.factory.app.inject({ url: `/image/${id}/v1.5.5/kernel-amd64` });
      assert.equal(kernel.statusCode, 200, kernel.body);
      assert.equal(sha256(kernel.rawPayload), fx.kernels.amd64?.vmlinuzSha256);
    });

    it('v1.8.3 (no known compression) is refused when the release inputs are extracted, for every kind', async () => {
      const id = await createSchematic(t, ['siderolabs/hello-world-service']);
      for (const path of ['initramfs-amd64.xz', 'kernel-amd64', 'initramfs-amd64.xz']) {
        const res = await t.factory.app.inject({
          url: `/image/${id}/v1.8.3/${path}`,
          headers: { accept: 'application/json' },
        });
        assert.equal(res.statusCode, 502, res.body);
        const doc = res.json() as { code: string; message: string };
        assert.equal(doc.code, 'UPSTREAM_UNAVAILABLE');
        assert.match(
          doc.message,
          /usr\/install\/amd64\/initramfs\.xz is not an xz, zstd, gzip or cpio initramfs/,
        );
      }
    });

    it('v1.10.6 (an xz header over garbage) fails the xz integrity test at extraction, for every kind', async () => {
      for (const exts of [['siderolabs/vfat-module'], ['siderolabs/hello-world-service'], []]) {
        const id = await createSchematic(t, exts);
        for (const path of ['initramfs-amd64.xz', 'kernel-amd64']) {
          const res = await t.factory.app.inject({
            url: `/image/${id}/v1.10.6/${path}`,
            headers: { accept: 'application/json' },
          });
          assert.equal(res.statusCode, 502, res.body);
          const doc = res.json() as { code: string; message: string };
          assert.equal(doc.code, 'UPSTREAM_UNAVAILABLE');
          assert.match(doc.message, /usr\/install\/amd64\/initramfs\.xz fails its xz integrity test/);
          assert.doesNotMatch(doc.message, /\/tmp\//, 'no server paths in the message');
        }
      }
    });
  });
});
