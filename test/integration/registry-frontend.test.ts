/**
 * The registry frontend in local mode (the factory's own store), proven with skopeo and raw HTTP
 * over a loopback socket: the first pull of a tag builds both arches into one signed OCI index,
 * later pulls build nothing; pulls by digest, blob ranges, tag lists, `latest`; OCI error
 * documents; a push is refused and changes nothing; the signature verifies with openssl; a bad
 * signature makes the next pull rebuild; a client that leaves mid-blob leaks nothing; the
 * source-image proxy over the OCI-layout release source.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { AssetKindModule } from '../../src/assets/asset-kind.js';
import { ASSET_KIND_MODULES } from '../../src/assets/kinds/index.js';
import { RegistryStore } from '../../src/frontends/registry/store.js';
import {
  buildSignatureImage,
  signatureTag,
  signPayload,
  simpleSigningPayload,
} from '../../src/oci/cosign.js';
import type { FixtureManifest } from '../fixtures/manifest.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';
import { inspectRaw, layerFiles, pullToLayout, skopeo } from '../helpers/oci-pull.js';

const run = promisify(execFile);
const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Index {
  mediaType: string;
  manifests: {
    digest: string;
    mediaType: string;
    size: number;
    platform: { os: string; architecture: string };
  }[];
}

async function ociError(res: Response): Promise<{ code: string; message: string }> {
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const doc = (await res.json()) as { errors: { code: string; message: string; detail: unknown }[] };
  assert.equal(doc.errors.length, 1);
  assert.ok(doc.errors[0]!.detail !== undefined);
  return doc.errors[0]!;
}

/** Files (relative paths) under `dir`, with sizes: a snapshot to prove nothing changed. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, prefix: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name), `${prefix}${e.name}/`);
      else out.push(`${prefix}${e.name} ${(await stat(join(d, e.name))).size}`);
    }
  };
  await walk(dir, '');
  return out.sort();
}

describe('registry frontend (local store)', { timeout: 900_000 }, () => {
  let t: TestFactory;
  let fx: FixtureManifest;
  let url: string;
  let host: string;
  let work: string;
  let extId: string;

  before(async () => {
    ({ t, fixtures: fx } = await makeFixtureFactory());
    const listening = await t.factory.listen();
    url = listening.url;
    host = `127.0.0.1:${listening.port}`;
    work = await mkdtemp(join(tmpdir(), 'if-registry-'));
    await fetch(`${url}/schematics`, { method: 'POST', body: '{}' });
    const res = await fetch(`${url}/schematics`, {
      method: 'POST',
      body: 'customization:\n  systemExtensions:\n    officialExtensions: [siderolabs/hello-world-service]\n',
    });
    extId = ((await res.json()) as { id: string }).id;
  });
  after(async () => {
    await t?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('answers the ping at /v2/ and /v2 with the API version header', async () => {
    for (const path of ['/v2/', '/v2']) {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
      await res.arrayBuffer();
    }
  });

  it('20 concurrent first pulls of one tag: one build per arch, one index, identical digests', async () => {
    const before = { ...t.factory.runner.stats };
    const results = await Promise.all(
      Array.from({ length: 20 }, () => inspectRaw(`${host}/installer/${extId}:v1.8.3`)),
    );
    assert.equal(new Set(results.map((r) => sha256(Buffer.from(r.text)))).size, 1, 'identical index bytes');
    // kernel, initramfs and installer, once for each of the two arches.
    assert.equal(t.factory.runner.stats.builds - before.builds, 6);
    assert.equal(t.factory.installers.stats.published, 1);
    const index = results[0]!.doc as unknown as Index;
    assert.equal(index.mediaType, OCI_INDEX);
    assert.deepEqual(
      index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`),
      ['linux/amd64', 'linux/arm64'],
    );
  });

  it('a client that leaves during the first pull does not cancel the build', async () => {
    const published = t.factory.installers.stats.published;
    const ac = new AbortController();
    const pending = fetch(`${url}/v2/installer/${EMPTY_ID}/manifests/v1.5.5`, { signal: ac.signal });
    // Leave once the build runs (planning took its time on a loaded machine, not a fixed delay).
    for (let i = 0; i < 600 && t.factory.runner.load.inflight === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    ac.abort();
    await assert.rejects(pending);
    for (let i = 0; i < 600 && t.factory.installers.stats.published === published; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(t.factory.installers.stats.published, published + 1, 'published although nobody waited');
    const builds = t.factory.runner.stats.builds;
    await inspectRaw(`${host}/installer/${EMPTY_ID}:v1.5.5`);
    assert.equal(t.factory.runner.stats.builds, builds);
    assert.equal(t.factory.installers.stats.published, published + 1);
  });

  it('v1.5.5: skopeo shows an index of linux/amd64 + linux/arm64; each arch pulls with the files of §5.2', async () => {
    const ref = `${host}/installer/${extId}:v1.5.5`;
    const { doc } = await inspectRaw(ref);
    const index = doc as unknown as Index;
    assert.deepEqual(
      index.manifests.map((m) => [m.mediaType, m.platform.os, m.platform.architecture]),
      [
        ['application/vnd.oci.image.manifest.v1+json', 'linux', 'amd64'],
        ['application/vnd.oci.image.manifest.v1+json', 'linux', 'arm64'],
      ],
    );
    const builds = t.factory.runner.stats.builds;
    for (const arch of ['amd64', 'arm64'] as const) {
      const pulled = await pullToLayout(ref, join(work, `v155-${arch}`), arch);
      assert.equal(
        pulled.manifestDigest,
        index.manifests.find((m) => m.platform.architecture === arch)!.digest,
      );
      assert.equal(pulled.config.architecture, arch);
      assert.equal(pulled.config.os, 'linux');
      assert.equal(pulled.manifest.layers.length, 2);
      for (const l of pulled.manifest.layers)
        assert.equal(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
      assert.deepEqual(await layerFiles(pulled.layers[0]!), ['bin/installer']);
      assert.deepEqual(await layerFiles(pulled.layers[1]!), [
        `usr/install/${arch}/initramfs.xz`,
        `usr/install/${arch}/vmlinuz`,
      ]);
    }
    // Both pulls were served from what the first request built.
    assert.equal(t.factory.runner.stats.builds, builds);
  });

  it('a second pull builds nothing; metal-installer is the same image; pulls by digest work', async () => {
    const ref = `${host}/installer/${extId}:v1.5.5`;
    const builds = t.factory.runner.stats.builds;
    const published = t.factory.installers.stats.published;
    const first = await inspectRaw(ref);
    const metal = await inspectRaw(`${host}/metal-installer/${extId}:v1.5.5`);
    assert.equal(metal.text, first.text);
    const pulled = await pullToLayout(
      `${host}/metal-installer/${extId}:v1.5.5`,
      join(work, 'metal'),
      'amd64',
    );
    assert.equal(pulled.manifest.layers.length, 2);
    assert.equal(t.factory.runner.stats.builds, builds);
    assert.equal(t.factory.installers.stats.published, published);

    const indexDigest = `sha256:${sha256(Buffer.from(first.text))}`;
    const byDigest = await inspectRaw(`${host}/installer/${extId}@${indexDigest}`);
    assert.equal(byDigest.text, first.text);
    const arm = (first.doc as unknown as Index).manifests[1]!;
    const armManifest = await inspectRaw(`${host}/installer/${extId}@${arm.digest}`);
    assert.equal(sha256(Buffer.from(armManifest.text)), arm.digest.slice(7));
  });

  it('an overlay schematic pulls with a third layer (overlay/…)', async () => {
    const res = await fetch(`${url}/schematics`, {
      method: 'POST',
      body: `overlay:\n  image: siderolabs/sbc-fixture\n  name: ${fx.overlay.name}\n`,
    });
    const id = ((await res.json()) as { id: string }).id;
    const pulled = await pullToLayout(`${host}/installer/${id}:v1.8.3`, join(work, 'overlay'), 'arm64');
    assert.equal(pulled.manifest.layers.length, 3);
    const files = await layerFiles(pulled.layers[2]!);
    assert.ok(files.includes('overlay/installers/default'), files.join(' '));
    assert.ok(files.includes('overlay/extra-options'), files.join(' '));
    assert.ok(
      files.some((f) => f.startsWith('overlay/artifacts/arm64/')),
      files.join(' '),
    );
  });

  it('HEAD and GET manifests carry Content-Type, Content-Length and Docker-Content-Digest; blobs serve ranges', async () => {
    const path = `/v2/installer/${extId}/manifests/v1.5.5`;
    const get = await fetch(`${url}${path}`);
    const body = Buffer.from(await get.arrayBuffer());
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('content-type'), OCI_INDEX);
    assert.equal(get.headers.get('docker-content-digest'), `sha256:${sha256(body)}`);
    assert.equal(get.headers.get('content-length'), String(body.length));
    const head = await fetch(`${url}${path}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(body.length));
    assert.equal(head.headers.get('docker-content-digest'), get.headers.get('docker-content-digest'));

    const index = JSON.parse(body.toString()) as Index;
    const manifest = (await (
      await fetch(`${url}/v2/installer/${extId}/manifests/${index.manifests[0]!.digest}`)
    ).json()) as { config: { digest: string }; layers: { digest: string; size: number }[] };
    const layer = manifest.layers[1]!;
    const blobUrl = `${url}/v2/installer/${extId}/blobs/${layer.digest}`;
    const whole = Buffer.from(await (await fetch(blobUrl)).arrayBuffer());
    assert.equal(whole.length, layer.size);
    assert.equal(`sha256:${sha256(whole)}`, layer.digest);
    const part = await fetch(blobUrl, { headers: { range: 'bytes=100-1123' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-1123/${layer.size}`);
    assert.equal(part.headers.get('docker-content-digest'), layer.digest);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), whole.subarray(100, 1124));
    const headBlob = await fetch(blobUrl, { method: 'HEAD' });
    assert.equal(headBlob.headers.get('content-length'), String(layer.size));
    const config = await fetch(`${url}/v2/installer/${extId}/blobs/${manifest.config.digest}`);
    assert.equal(`sha256:${sha256(Buffer.from(await config.arrayBuffer()))}`, manifest.config.digest);
  });

  it('tags/list lists the offered versions (with n/last pagination)', async () => {
    const res = await fetch(`${url}/v2/installer/${EMPTY_ID}/tags/list`);
    const doc = (await res.json()) as { name: string; tags: string[] };
    assert.equal(doc.name, `installer/${EMPTY_ID}`);
    assert.deepEqual(doc.tags, await t.factory.release.versions());
    const page = await fetch(`${url}/v2/installer/${EMPTY_ID}/tags/list?n=1`);
    assert.deepEqual(((await page.json()) as { tags: string[] }).tags, [doc.tags[0]]);
    assert.match(page.headers.get('link') ?? '', /rel="next"/);
  });

  it('unknown schematic, image, tag, digest and blob are OCI error documents with the right status', async () => {
    const cases: [string, number, string, RegExp][] = [
      [`/v2/installer/${'a'.repeat(64)}/manifests/v1.5.5`, 404, 'NAME_UNKNOWN', /schematic ID/],
      [`/v2/nope/${EMPTY_ID}/manifests/v1.5.5`, 400, 'NAME_INVALID', /invalid image: nope/],
      [`/v2/bogus-installer/${EMPTY_ID}/manifests/v1.5.5`, 400, 'NAME_INVALID', /invalid image/],
      [`/v2/installer/${EMPTY_ID}/manifests/v1.9.9`, 404, 'MANIFEST_UNKNOWN', /not available/],
      [`/v2/installer/${EMPTY_ID}/manifests/sha256:${'0'.repeat(64)}`, 404, 'MANIFEST_UNKNOWN', /unknown/],
      [`/v2/installer/${EMPTY_ID}/blobs/sha256:${'0'.repeat(64)}`, 404, 'BLOB_UNKNOWN', /unknown/],
      ['/v2/a/b/c/manifests/v1', 404, 'NAME_UNKNOWN', /not found/],
      ['/v2/siderolabs/installer/tags/v1', 404, 'NAME_UNKNOWN', /not found/],
      ['/v2/siderolabs/nope/manifests/v1.5.5', 404, 'NAME_UNKNOWN', /not proxied/],
      [
        `/v2/siderolabs/installer/blobs/sha256:${'0'.repeat(64)}`,
        404,
        'BLOB_UNKNOWN',
        /manifest that names it/,
      ],
    ];
    for (const [path, status, code, message] of cases) {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, status, path);
      assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
      const err = await ociError(res);
      assert.equal(err.code, code, path);
      assert.match(err.message, message, path);
    }
    // skopeo prints the OCI code and message.
    await assert.rejects(
      inspectRaw(`${host}/installer/${'a'.repeat(64)}:v1.5.5`),
      /name unknown.*schematic ID/i,
    );
  });

  it('UKI era (v1.10.6): latest resolves to it and the index carries both arches', async () => {
    const latest = await fetch(`${url}/v2/installer/${EMPTY_ID}/manifests/latest`, {
      headers: { Accept: 'application/vnd.oci.image.index.v1+json' },
    });
    assert.equal(latest.status, 200, await latest.clone().text());
    const v1106 = await fetch(`${url}/v2/installer/${EMPTY_ID}/manifests/v1.10.6`, {
      headers: { Accept: 'application/vnd.oci.image.index.v1+json' },
    });
    assert.equal(v1106.status, 200);
    assert.equal(latest.headers.get('docker-content-digest'), v1106.headers.get('docker-content-digest'));
    const index = (await v1106.json()) as { manifests: { platform: { architecture: string } }[] };
    assert.deepEqual(index.manifests.map((m) => m.platform.architecture).sort(), ['amd64', 'arm64']);
  });

  it('a push is refused with 405 UNSUPPORTED and changes nothing', async () => {
    const src = join(work, 'v155-amd64');
    const before = await tree(join(t.dataDir, 'registry'));
    const published = t.factory.installers.stats.published;
    await assert.rejects(
      skopeo([
        'copy',
        '--dest-tls-verify=false',
        `oci:${src}:pulled`,
        `docker://${host}/installer/${extId}:pushed`,
      ]),
      /405|unsupported|read-only/i,
    );
    for (const method of ['PUT', 'POST', 'PATCH', 'DELETE']) {
      const res = await fetch(`${url}/v2/installer/${extId}/manifests/v1.5.5`, {
        method,
        body: method === 'DELETE' ? null : '{}',
      });
      assert.equal(res.status, 405, method);
      assert.equal((await ociError(res)).code, 'UNSUPPORTED');
    }
    const res = await fetch(`${url}/v2/installer/${extId}/manifests/pushed`);
    assert.equal(res.status, 404);
    await res.arrayBuffer();
    assert.deepEqual(await tree(join(t.dataDir, 'registry')), before);
    assert.equal(t.factory.installers.stats.published, published);
  });

  it('the index signature verifies with openssl against /oci/cosign/signing-key.pub', async () => {
    const keyRes = await fetch(`${url}/oci/cosign/signing-key.pub`);
    assert.equal(keyRes.status, 200);
    assert.equal(keyRes.headers.get('content-type'), 'application/x-pem-file');
    const pem = await keyRes.text();
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----/);
    const index = await fetch(`${url}/v2/installer/${extId}/manifests/v1.5.5`);
    const digest = index.headers.get('docker-content-digest')!;
    await index.arrayBuffer();
    const sigManifest = (await (
      await fetch(`${url}/v2/installer/${extId}/manifests/${signatureTag(digest)}`)
    ).json()) as { layers: { mediaType: string; digest: string; annotations: Record<string, string> }[] };
    assert.equal(sigManifest.layers.length, 1);
    const layer = sigManifest.layers[0]!;
    assert.equal(layer.mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
    const payload = Buffer.from(
      await (await fetch(`${url}/v2/installer/${extId}/blobs/${layer.digest}`)).arrayBuffer(),
    );
    const doc = JSON.parse(payload.toString()) as {
      critical: {
        identity: { 'docker-reference': string };
        image: { 'docker-manifest-digest': string };
        type: string;
      };
      optional: null;
    };
    assert.equal(doc.critical.image['docker-manifest-digest'], digest);
    assert.equal(doc.critical.type, 'cosign container image signature');
    assert.equal(
      doc.critical.identity['docker-reference'],
      `${host.replace(/:\d+$/, ':0')}/installer/${extId}`,
    );
    assert.equal(doc.optional, null);
    const dir = join(work, 'openssl');
    await mkdir(dir);
    await writeFile(join(dir, 'pub.pem'), pem);
    await writeFile(join(dir, 'payload'), payload);
    await writeFile(
      join(dir, 'sig.der'),
      Buffer.from(layer.annotations['dev.cosignproject.cosign/signature']!, 'base64'),
    );
    const { stdout } = await run('openssl', [
      'dgst',
      '-sha256',
      '-verify',
      join(dir, 'pub.pem'),
      '-signature',
      join(dir, 'sig.der'),
      join(dir, 'payload'),
    ]);
    assert.match(stdout, /Verified OK/);
  });

  it('an index whose signature does not verify is rebuilt (re-signed) on the next pull', async () => {
    const index = await fetch(`${url}/v2/installer/${extId}/manifests/v1.5.5`);
    const digest = index.headers.get('docker-content-digest')!;
    await index.arrayBuffer();
    // Sign with another key and point the signature tag at that.
    const store = new RegistryStore(join(t.dataDir, 'registry'), { maxBytes: 1 << 20 });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const payload = simpleSigningPayload(`${host}/installer/${extId}`, digest);
    const forged = buildSignatureImage(payload, signPayload(privateKey, payload));
    await store.putBlob(forged.config);
    await store.putBlob(forged.payload);
    await store.putManifest(forged.manifest.bytes);
    await store.setTag(`installer/${extId}`, signatureTag(digest), forged.manifest.digest);
    const { published, rejected } = t.factory.installers.stats;
    const builds = t.factory.runner.stats.builds;
    const again = await inspectRaw(`${host}/installer/${extId}:v1.5.5`);
    assert.equal(`sha256:${sha256(Buffer.from(again.text))}`, digest, 'the same assets give the same index');
    assert.equal(t.factory.installers.stats.rejected, rejected + 1);
    assert.equal(t.factory.installers.stats.published, published + 1);
    assert.equal(t.factory.runner.stats.builds, builds, 'the assets themselves were still cached');
    assert.notEqual(await store.getTag(`installer/${extId}`, signatureTag(digest)), forged.manifest.digest);
    await inspectRaw(`${host}/installer/${extId}:v1.5.5`);
    assert.equal(t.factory.installers.stats.published, published + 1, 'the new signature is valid');
  });

  it('a client that leaves mid-blob leaks no descriptors and the server keeps serving', async () => {
    const index = (await (await fetch(`${url}/v2/installer/${extId}/manifests/v1.5.5`)).json()) as Index;
    const manifest = (await (
      await fetch(`${url}/v2/installer/${extId}/manifests/${index.manifests[0]!.digest}`)
    ).json()) as { layers: { digest: string; size: number }[] };
    const layer = manifest.layers[1]!;
    assert.ok(layer.size > 1 << 20, `layer of ${layer.size} bytes is big enough to interrupt`);
    const fds = async () => (await readdir('/proc/self/fd')).length;
    const baseline = await fds();
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = http.get(`${url}/v2/installer/${extId}/blobs/${layer.digest}`, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (e) => (req.destroyed ? resolve() : reject(e)));
      });
    }
    let now = await fds();
    for (let i = 0; i < 50 && now > baseline; i++) {
      await new Promise((r) => setTimeout(r, 100));
      now = await fds();
    }
    assert.ok(now <= baseline, `open descriptors ${now} > baseline ${baseline}`);
    const whole = Buffer.from(
      await (await fetch(`${url}/v2/installer/${extId}/blobs/${layer.digest}`)).arrayBuffer(),
    );
    assert.equal(`sha256:${sha256(whole)}`, layer.digest);
  });

  it('source-image proxy (OCI-layout source): manifests, blobs and tags of the release images', async () => {
    const v = fx.versions.find((x) => x.spec.tag === 'v1.10.6')!;
    const { text } = await inspectRaw(`${host}/siderolabs/installer-base:v1.10.6`);
    assert.equal(`sha256:${sha256(Buffer.from(text))}`, v.installerDigest);
    const pulled = await pullToLayout(
      `${host}/siderolabs/installer-base:v1.10.6`,
      join(work, 'proxy'),
      'arm64',
    );
    assert.equal(
      pulled.manifestDigest,
      fx.repos.find((r) => r.name === 'siderolabs/installer-base')!.tags.find((x) => x.tag === 'v1.10.6')!
        .platforms.arm64,
    );
    assert.deepEqual(await layerFiles(pulled.layers[0]!), ['bin/installer']);
    const tags = (await (await fetch(`${url}/v2/siderolabs/imager/tags/list`)).json()) as {
      name: string;
      tags: string[];
    };
    assert.equal(tags.name, 'siderolabs/imager');
    assert.ok(tags.tags.includes('v1.10.6') && tags.tags.includes('v1.1.2'), tags.tags.join(','));
    const missing = await fetch(`${url}/v2/siderolabs/imager/manifests/v9.9.9`);
    assert.equal(missing.status, 404);
    assert.equal((await ociError(missing)).code, 'MANIFEST_UNKNOWN');
  });
});

/** A stand-in `uki` kind (the real one comes with secure boot): lets the UKI era run end to end. */
const stubUki: AssetKindModule = {
  kind: 'uki',
  salt: 'stub-uki',
  plan(ctx) {
    const text = `stub UKI ${ctx.request.platform}-${ctx.request.arch} ${ctx.version}\n`;
    return Promise.resolve({
      key: { text },
      light: true,
      async build(b) {
        await writeFile(join(b.workDir, 'uki.efi'), text);
        return join(b.workDir, 'uki.efi');
      },
    });
  },
};

describe('registry frontend, UKI era (stand-in uki kind)', { timeout: 300_000 }, () => {
  let t: TestFactory;
  let host: string;
  let work: string;

  before(async () => {
    ({ t } = await makeFixtureFactory({}, { kinds: { ...ASSET_KIND_MODULES, uki: stubUki } }));
    host = `127.0.0.1:${(await t.factory.listen()).port}`;
    work = await mkdtemp(join(tmpdir(), 'if-registry-uki-'));
    await t.factory.app.inject({ method: 'POST', url: '/schematics', payload: '{}' });
  });
  after(async () => {
    await t?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('latest = the newest stable version; aws-installer layers: installer-base + vmlinuz.efi/systemd-boot.efi', async () => {
    const latest = await inspectRaw(`${host}/aws-installer/${EMPTY_ID}:latest`);
    const v1106 = await inspectRaw(`${host}/aws-installer/${EMPTY_ID}:v1.10.6`);
    assert.equal(latest.text, v1106.text);
    assert.equal(t.factory.installers.stats.published, 1);
    const pulled = await pullToLayout(
      `${host}/aws-installer/${EMPTY_ID}:v1.10.6`,
      join(work, 'aws'),
      'arm64',
    );
    assert.equal(pulled.manifest.layers.length, 2);
    assert.deepEqual(await layerFiles(pulled.layers[0]!), ['bin/installer']);
    assert.deepEqual(await layerFiles(pulled.layers[1]!), [
      'usr/install/arm64/systemd-boot.efi',
      'usr/install/arm64/vmlinuz.efi',
    ]);
    const out = join(work, 'aws-files');
    await mkdir(out);
    await run('tar', ['-xf', pulled.layers[1]!, '-C', out]);
    assert.equal(
      await readFile(join(out, 'usr/install/arm64/vmlinuz.efi'), 'utf8'),
      'stub UKI aws-arm64 v1.10.6\n',
    );
  });
});
