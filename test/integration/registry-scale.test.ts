/**
 * Scale mode: two factory replicas configured with one docker-registry (`registry.external`) and
 * one signing key. Replica A builds on the first pull, pushes by digest, signs, tags, and answers
 * with a 307 into the registry; replica B finds the tag with a valid signature and redirects
 * without building; a replica with another key does not trust it and rebuilds. Also the
 * source-image proxy over the registry release source.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signatureTag } from '../../src/oci/cosign.js';
import type { TestFactory } from '../helpers/factory.js';
import { fixtureReleases, makeFixtureFactory } from '../helpers/fixture-factory.js';
import { makeTestFactory } from '../helpers/factory.js';
import { inspectRaw, layerFiles, pullToLayout, skopeo } from '../helpers/oci-pull.js';
import { type RunningRegistry, startRegistry } from '../helpers/registry.js';

const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function newKeyPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
}

describe('registry frontend, scale mode (external registry)', { timeout: 600_000 }, () => {
  let reg: RunningRegistry;
  let work: string;
  const replicas: TestFactory[] = [];
  let a: { t: TestFactory; url: string; host: string };
  let b: { t: TestFactory; url: string; host: string };
  let keyPath: string;

  async function replica(signingKeyPath: string): Promise<{ t: TestFactory; url: string; host: string }> {
    const made = await makeFixtureFactory({
      registry: { signingKeyPath, external: { registry: reg.host, namespace: 'factory', insecure: true } },
    });
    replicas.push(made.t);
    const { url, port } = await made.t.factory.listen();
    await fetch(`${url}/schematics`, { method: 'POST', body: '{}' });
    return { t: made.t, url, host: `127.0.0.1:${port}` };
  }

  before(async () => {
    reg = await startRegistry();
    work = await mkdtemp(join(tmpdir(), 'if-scale-'));
    keyPath = join(work, 'signing-key.pem');
    await writeFile(keyPath, newKeyPem(), { mode: 0o600 });
    a = await replica(keyPath);
    b = await replica(keyPath);
  });
  after(async () => {
    for (const t of replicas) await t.cleanup();
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const manifestPath = `/v2/installer/${EMPTY_ID}/manifests/v1.5.5`;

  it('replica A builds, pushes by digest then tag, and redirects (307) into the registry', async () => {
    const res = await fetch(`${a.url}${manifestPath}`, { redirect: 'manual' });
    assert.equal(res.status, 307);
    const location = res.headers.get('location') ?? '';
    assert.match(
      location,
      new RegExp(`^http://${reg.host}/v2/factory/installer/${EMPTY_ID}/manifests/sha256:[a-f0-9]{64}$`),
    );
    assert.equal(a.t.factory.installers.stats.published, 1);
    assert.equal(a.t.factory.runner.stats.builds, 6);
    // What the registry holds under the tag is the redirect's index, with its signature beside it.
    const tagged = await inspectRaw(`${reg.host}/factory/installer/${EMPTY_ID}:v1.5.5`);
    const digest = location.slice(location.lastIndexOf('/') + 1);
    assert.equal(`sha256:${sha256(Buffer.from(tagged.text))}`, digest);
    const sig = await inspectRaw(`${reg.host}/factory/installer/${EMPTY_ID}:${signatureTag(digest)}`);
    assert.equal(
      (sig.doc.layers as { mediaType: string }[])[0]?.mediaType,
      'application/vnd.dev.cosign.simplesigning.v1+json',
    );
    // skopeo follows the redirects for manifests and blobs.
    const viaA = await inspectRaw(`${a.host}/installer/${EMPTY_ID}:v1.5.5`);
    assert.equal(viaA.text, tagged.text);
  });

  it('replica B serves the tag pulled through A without a build', async () => {
    const res = await fetch(`${b.url}${manifestPath}`, { redirect: 'manual' });
    assert.equal(res.status, 307);
    const viaA = await fetch(`${a.url}${manifestPath}`, { redirect: 'manual' });
    assert.equal(res.headers.get('location'), viaA.headers.get('location'));
    const pulled = await pullToLayout(
      `${b.host}/installer/${EMPTY_ID}:v1.5.5`,
      join(work, 'b-arm64'),
      'arm64',
    );
    assert.deepEqual(await layerFiles(pulled.layers[1]!), [
      'usr/install/arm64/initramfs.xz',
      'usr/install/arm64/vmlinuz',
    ]);
    assert.equal(b.t.factory.runner.stats.builds, 0);
    assert.equal(b.t.factory.installers.stats.published, 0);
    assert.ok(b.t.factory.installers.stats.reused >= 2);
    // Blobs and digests redirect without a lookup.
    const blob = await fetch(`${b.url}/v2/installer/${EMPTY_ID}/blobs/sha256:${'1'.repeat(64)}`, {
      redirect: 'manual',
    });
    assert.equal(blob.status, 307);
    assert.equal(
      blob.headers.get('location'),
      `http://${reg.host}/v2/factory/installer/${EMPTY_ID}/blobs/sha256:${'1'.repeat(64)}`,
    );
  });

  it('a replica with another key does not trust the signature: it rebuilds and re-signs', async () => {
    const otherKey = join(work, 'other-key.pem');
    await writeFile(otherKey, newKeyPem(), { mode: 0o600 });
    const c = await replica(otherKey);
    const res = await fetch(`${c.url}${manifestPath}`, { redirect: 'manual' });
    assert.equal(res.status, 307);
    assert.equal(c.t.factory.installers.stats.rejected, 1);
    assert.equal(c.t.factory.installers.stats.published, 1);
    // Same assets, same index digest: the race between replicas is harmless.
    const viaB = await fetch(`${b.url}${manifestPath}`, { redirect: 'manual' });
    assert.equal(res.headers.get('location'), viaB.headers.get('location'));
  });
});

describe('source-image proxy over the registry release source', { timeout: 300_000 }, () => {
  let reg: RunningRegistry;
  let t: TestFactory;
  let work: string;

  before(async () => {
    reg = await startRegistry();
    work = await mkdtemp(join(tmpdir(), 'if-proxy-'));
    const fixtures = await fixtureReleases();
    // One OCI-typed release image is enough to prove the proxy reads through the registry.
    await skopeo([
      'copy',
      '--all',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `oci:${join(fixtures.root, 'siderolabs', 'installer-base')}:v1.10.6`,
      `docker://${reg.host}/rel/siderolabs/installer-base:v1.10.6`,
    ]);
    t = await makeTestFactory({
      artifacts: { source: 'registry', core: { registry: reg.host, namespace: 'rel', insecure: true } },
    });
  });
  after(async () => {
    await t?.cleanup();
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('serves manifests, blobs and tags of siderolabs/installer-base read from the registry', async () => {
    const { port } = await t.factory.listen();
    const host = `127.0.0.1:${port}`;
    const upstream = await inspectRaw(`${reg.host}/rel/siderolabs/installer-base:v1.10.6`);
    const proxied = await inspectRaw(`${host}/siderolabs/installer-base:v1.10.6`);
    assert.equal(proxied.text, upstream.text);
    for (const arch of ['amd64', 'arm64'] as const) {
      const pulled = await pullToLayout(`${host}/siderolabs/installer-base:v1.10.6`, join(work, arch), arch);
      assert.deepEqual(await layerFiles(pulled.layers[0]!), ['bin/installer']);
    }
    const tags = (await (await fetch(`http://${host}/v2/siderolabs/installer-base/tags/list`)).json()) as {
      tags: string[];
    };
    assert.deepEqual(tags.tags, ['v1.10.6']);
  });
});
