// End-to-end behaviour of the OCI client against the real distribution 2.8 registry, with skopeo
// as an independent client on both sides.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { isFactoryError } from '../../src/errors.js';
import {
  buildImageManifest,
  type Descriptor,
  EMPTY_CONFIG_DESCRIPTOR,
  EMPTY_JSON,
  OCI_INDEX,
  OCI_LAYER_TAR_GZIP,
  OCI_MANIFEST,
  OciClient,
  selectPlatform,
  sha256Digest,
} from '../../src/oci/index.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { type RunningRegistry, startRegistry } from '../helpers/registry.js';
import { expectCode } from '../helpers/assert-error.js';

const run = promisify(execFile);
const TIMEOUT = { timeout: 30_000 };

// A gzip'd tar with one file, plus the OCI config that describes it (diff_id = sha of the tar).
async function makeLayer(
  dir: string,
  name: string,
  content: Buffer,
): Promise<{ gz: Buffer; diffId: string }> {
  const src = join(dir, `src-${name}`);
  await mkdir(src, { recursive: true });
  await writeFile(join(src, name), content);
  const tarPath = join(dir, `${name}.tar`);
  await run('tar', ['-C', src, '--owner=0', '--group=0', '--mtime=@0', '-cf', tarPath, name]);
  const tar = await readFile(tarPath);
  return { gz: gzipSync(tar), diffId: sha256Digest(tar) };
}

function imageConfig(arch: string, diffIds: string[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: arch,
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
}

describe('OciClient against docker-registry 2.8', TIMEOUT, () => {
  let registry: RunningRegistry;
  let client: OciClient;
  let work: string;

  before(async () => {
    registry = await startRegistry();
    work = await mkdtemp(join(tmpdir(), 'oci-client-'));
    client = new OciClient({
      hosts: { [registry.host]: { insecure: true } },
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
    });
  });
  after(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('monolithic push, skip when present, stat, buffered read', async () => {
    const repo = `${registry.host}/blobs/mono`;
    const data = randomBytes(100_000);
    const first = await client.pushBlob(repo, data);
    assert.equal(first.outcome, 'uploaded');
    assert.equal(first.digest, sha256Digest(data));
    assert.equal(first.size, data.length);
    assert.equal((await client.pushBlob(repo, data)).outcome, 'exists');
    assert.deepEqual(await client.statBlob(repo, first.digest), { size: data.length });
    assert.equal(await client.blobExists(repo, sha256Digest(Buffer.from('absent'))), false);
    assert.deepEqual(await client.getBlobBytes(repo, first.digest), data);
  });

  test('chunked push from a file streams back verified, and downloads atomically', async () => {
    const repo = `${registry.host}/blobs/chunked`;
    const data = randomBytes(300_000);
    const file = join(work, 'chunked.bin');
    await writeFile(file, data);
    const pushed = await client.pushBlob(repo, { path: file }, { chunked: true, chunkSize: 64 * 1024 });
    assert.equal(pushed.outcome, 'uploaded');
    assert.equal(pushed.digest, sha256Digest(data));
    const chunks: Buffer[] = [];
    for await (const chunk of await client.getBlob(repo, pushed.digest, { size: data.length }))
      chunks.push(chunk as Buffer);
    assert.deepEqual(Buffer.concat(chunks), data);
    const dest = join(work, 'downloads', 'blob.bin');
    const got = await client.downloadBlob(repo, pushed.digest, dest);
    assert.equal(got.size, data.length);
    assert.deepEqual(await readFile(dest), data);
    assert.deepEqual(await readdir(join(work, 'downloads')), ['blob.bin']);
  });

  test('monolithic push from a file and cross-repository mount', async () => {
    const data = randomBytes(50_000);
    const file = join(work, 'mono.bin');
    await writeFile(file, data);
    const source = await client.pushBlob(`${registry.host}/mount/source`, { path: file });
    assert.equal(source.outcome, 'uploaded');
    const mounted = await client.pushBlob(
      `${registry.host}/mount/target`,
      { path: file },
      { mountFrom: 'mount/source' },
    );
    assert.equal(mounted.outcome, 'mounted');
    assert.deepEqual(await client.getBlobBytes(`${registry.host}/mount/target`, source.digest), data);
  });

  test('images, index, resolve, pull by tag and digest, platform selection, skopeo inspect', async () => {
    const repo = `${registry.host}/siderolabs/installer`;
    const images: { arch: string; desc: Descriptor; layer: string }[] = [];
    for (const arch of ['amd64', 'arm64']) {
      const layer = await makeLayer(work, `payload-${arch}`, Buffer.from(`installer for ${arch}\n`));
      const desc = await client.pushImage(repo, undefined, {
        config: { bytes: imageConfig(arch, [layer.diffId]) },
        layers: [{ source: layer.gz, mediaType: OCI_LAYER_TAR_GZIP }],
      });
      images.push({ arch, desc, layer: sha256Digest(layer.gz) });
    }
    const index = await client.pushIndex(
      repo,
      'v1.10.0',
      images.map((i) => ({ descriptor: i.desc, platform: { os: 'linux', architecture: i.arch } })),
    );
    assert.equal(index.mediaType, OCI_INDEX);

    const resolved = await client.resolve(`${repo}:v1.10.0`);
    assert.deepEqual(resolved, { digest: index.digest, mediaType: OCI_INDEX, size: index.size });
    assert.deepEqual(await client.resolve(`${repo}@${index.digest}`), resolved);

    const byTag = await client.getManifest(repo, 'v1.10.0');
    const byDigest = await client.getManifest(repo, index.digest);
    assert.equal(byTag.digest, index.digest);
    assert.deepEqual(byDigest.bytes, byTag.bytes);
    assert.equal(byDigest.mediaType, OCI_INDEX);

    const doc = await client.getManifestDocument(repo, 'v1.10.0');
    assert.equal(doc.document.kind, 'index');
    if (doc.document.kind !== 'index') return;
    assert.equal(selectPlatform(doc.document, 'linux/arm64').digest, images[1]!.desc.digest);
    assert.throws(
      () => selectPlatform(doc.document as never, 'linux/s390x'),
      (e: unknown) => isFactoryError(e, 'NOT_FOUND') && e.message.includes('linux/amd64, linux/arm64'),
    );

    const arm = await client.getPlatformManifest(repo, 'v1.10.0', 'linux/arm64');
    assert.equal(arm.indexDigest, index.digest);
    assert.equal(arm.digest, images[1]!.desc.digest);
    assert.equal(arm.document.layers[0]?.digest, images[1]!.layer);

    const { stdout: raw } = await run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${repo}:v1.10.0`,
    ]);
    assert.equal(sha256Digest(Buffer.from(raw)), index.digest);
    const { stdout } = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--override-arch',
      'arm64',
      `docker://${repo}:v1.10.0`,
    ]);
    const inspected = JSON.parse(stdout) as { Architecture: string; Layers: string[] };
    assert.equal(inspected.Architecture, 'arm64');
    assert.deepEqual(inspected.Layers, [images[1]!.layer]);
  });

  test('artifact with empty config (schematic-store shape) and pushManifest digest checks', async () => {
    const repo = `${registry.host}/image-factory/schematics`;
    const content = Buffer.from('customization: {}\n');
    const id = sha256Digest(content).slice('sha256:'.length);
    const desc = await client.pushImage(repo, id, {
      config: { bytes: EMPTY_JSON, mediaType: EMPTY_CONFIG_DESCRIPTOR.mediaType },
      layers: [{ source: content, mediaType: 'application/vnd.sidero.dev-image.schematic' }],
    });
    assert.equal(desc.mediaType, OCI_MANIFEST);
    assert.deepEqual(await client.getBlobBytes(repo, `sha256:${id}`), content);
    const manifest = await client.getManifestDocument(repo, id);
    assert.equal(manifest.document.kind, 'manifest');
    if (manifest.document.kind === 'manifest')
      assert.equal(manifest.document.config.digest, EMPTY_CONFIG_DESCRIPTOR.digest);

    const built = buildImageManifest({ config: EMPTY_CONFIG_DESCRIPTOR, layers: [] });
    const wrong = sha256Digest(Buffer.from('other'));
    await expectCode(
      client.pushManifest(repo, wrong, built.bytes, built.mediaType),
      'DIGEST_MISMATCH',
      wrong,
      built.digest,
    );
    const pushed = await client.pushManifest(repo, built.digest, built.bytes, built.mediaType);
    assert.equal(pushed.digest, built.digest);
    await client.deleteManifest(repo, built.digest);
    await expectCode(
      client.getManifest(repo, built.digest),
      'NOT_FOUND',
      'image-factory/schematics',
      built.digest,
    );
  });

  test('NOT_FOUND names repository and reference', async () => {
    await expectCode(
      client.getManifest(`${registry.host}/no/such`, 'v9.9.9'),
      'NOT_FOUND',
      'no/such:v9.9.9',
      registry.host,
    );
    await expectCode(client.resolve(`${registry.host}/no/such:v9.9.9`), 'NOT_FOUND', 'no/such:v9.9.9');
    const missing = sha256Digest(Buffer.from('missing'));
    await expectCode(
      client.getBlobBytes(`${registry.host}/blobs/mono`, missing),
      'NOT_FOUND',
      'blobs/mono',
      missing,
    );
    await expectCode(client.listTags(`${registry.host}/no/such`), 'NOT_FOUND', 'no/such');
  });

  test('tags and catalog with pagination', async () => {
    const repo = `${registry.host}/paged/tags`;
    const built = buildImageManifest({ config: EMPTY_CONFIG_DESCRIPTOR, layers: [] });
    await client.pushBlob(repo, EMPTY_JSON);
    const tags = Array.from({ length: 25 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    for (const tag of tags) await client.pushManifest(repo, tag, built.bytes, built.mediaType);
    // distribution 2.8 ignores `n` on tags/list: one page with everything.
    assert.deepEqual((await client.listTags(repo, { pageSize: 10 })).sort(), tags);

    // Through a proxy that paginates as ghcr.io does: three pages followed via Link.
    const proxy = await startFaultProxy(registry.url);
    try {
      proxy.inject({ path: /\/tags\/list$/, fault: { kind: 'paginate-tags' } });
      const viaProxy = new OciClient({ hosts: { [proxy.host]: { insecure: true } } });
      assert.deepEqual(await viaProxy.listTags(`${proxy.host}/paged/tags`, { pageSize: 10 }), tags);
      assert.deepEqual(
        proxy.requests.filter((r) => r.path.includes('/tags/list')).map((r) => r.path),
        [
          '/v2/paged/tags/tags/list?n=10',
          '/v2/paged/tags/tags/list?n=10&last=t09',
          '/v2/paged/tags/tags/list?n=10&last=t19',
        ],
      );

      // The catalog is paginated by distribution itself (the proxy only watches).
      for (const name of ['cat/a', 'cat/b', 'cat/c'])
        await client.pushBlob(`${registry.host}/${name}`, EMPTY_JSON);
      const repos = await viaProxy.listRepositories(proxy.host, { pageSize: 2 });
      for (const name of ['cat/a', 'cat/b', 'cat/c', 'paged/tags', 'siderolabs/installer'])
        assert.ok(repos.includes(name), `catalog lists ${name}`);
      assert.deepEqual(repos, [...repos].sort());
      assert.equal(new Set(repos).size, repos.length);
      const pages = proxy.requests.filter((r) => r.path.startsWith('/v2/_catalog'));
      assert.ok(
        pages.length >= Math.ceil(repos.length / 2),
        `followed ${pages.length} catalog pages for ${repos.length} repositories`,
      );
      assert.ok(pages.slice(1).every((p) => p.path.includes('last=')));
    } finally {
      await proxy.stop();
    }
  });

  test('reads an image skopeo copied from a hand-made OCI layout', async () => {
    const layout = join(work, 'layout');
    await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
    const put = async (bytes: Buffer): Promise<string> => {
      const digest = sha256Digest(bytes);
      await writeFile(join(layout, 'blobs', 'sha256', digest.slice(7)), bytes);
      return digest;
    };
    const layer = await makeLayer(work, 'skopeo-payload', Buffer.from('copied by skopeo\n'));
    const config = imageConfig('amd64', [layer.diffId]);
    const manifest = buildImageManifest({
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: await put(config),
        size: config.length,
      },
      layers: [{ mediaType: OCI_LAYER_TAR_GZIP, digest: await put(layer.gz), size: layer.gz.length }],
    });
    await put(manifest.bytes);
    await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: OCI_MANIFEST,
            digest: manifest.digest,
            size: manifest.size,
            annotations: { 'org.opencontainers.image.ref.name': 'v1' },
          },
        ],
      }),
    );
    await run(
      'skopeo',
      [
        'copy',
        '--preserve-digests',
        '--dest-tls-verify=false',
        `oci:${layout}:v1`,
        `docker://${registry.host}/skopeo/copied:v1`,
      ],
      { timeout: 20_000 },
    );

    const repo = `${registry.host}/skopeo/copied`;
    assert.equal((await client.resolve(`${repo}:v1`)).digest, manifest.digest);
    const image = await client.getPlatformManifest(repo, 'v1', 'linux/amd64');
    const layerDesc = image.document.layers[0]!;
    const dest = join(work, 'skopeo-layer.tar.gz');
    await client.downloadBlob(repo, layerDesc.digest, dest, { size: layerDesc.size });
    assert.equal(gunzipSync(await readFile(dest)).includes(Buffer.from('copied by skopeo')), true);
  });
});
