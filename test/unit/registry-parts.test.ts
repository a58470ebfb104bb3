/**
 * The registry frontend's pieces in isolation: installer image names, the OCI error mapping,
 * cosign payloads and signatures (checked against openssl, an independent implementation), the
 * signing key (generated once, validated when configured), the store's verification on read, and
 * the docker-archive reader's refusal of tampered members.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { readDockerArchive, writeDockerArchive } from '../../src/builders/formats/docker-archive.js';
import { FactoryError, isFactoryError } from '../../src/errors.js';
import { isRegistryPath, ociErrorCode, ociErrorDocument } from '../../src/frontends/http/oci-error.js';
import { loadSigningKey } from '../../src/frontends/registry/signing-key.js';
import { RegistryStore } from '../../src/frontends/registry/store.js';
import {
  buildSignatureImage,
  signatureLayers,
  signatureTag,
  signPayload,
  simpleSigningPayload,
  verifySignature,
} from '../../src/oci/cosign.js';
import { parseManifest, sha256Digest } from '../../src/oci/index.js';
import {
  installerArtifacts,
  installerImageName,
  parseInstallerImage,
} from '../../src/profile/installer-image.js';

const run = promisify(execFile);
const DIGEST = `sha256:${'ab'.repeat(32)}`;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'if-registry-unit-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('installer image names', () => {
  it('parses the four shapes and rejects the rest with upstream text', () => {
    assert.deepEqual(parseInstallerImage('installer'), {
      name: 'installer',
      platform: 'metal',
      secureBoot: false,
    });
    assert.deepEqual(parseInstallerImage('installer-secureboot'), {
      name: 'installer-secureboot',
      platform: 'metal',
      secureBoot: true,
    });
    assert.equal(parseInstallerImage('aws-installer').platform, 'aws');
    assert.equal(parseInstallerImage('digital-ocean-installer-secureboot').platform, 'digital-ocean');
    for (const bad of [
      'nope',
      'installerx',
      '-installer',
      'bogus-installer',
      'installer-secureboot-secureboot',
      'siderolabs',
    ]) {
      assert.throws(
        () => parseInstallerImage(bad),
        (e: unknown) => isFactoryError(e, 'NAME_INVALID') && e.message === `invalid image: ${bad}`,
      );
    }
  });

  it('canonical names: metal is "installer", aliases resolve', () => {
    assert.equal(installerImageName('metal', false), 'installer');
    assert.equal(installerImageName('metal', true), 'installer-secureboot');
    assert.equal(installerImageName('aws', false), 'aws-installer');
    assert.equal(installerImageName('packet', false), 'equinixMetal-installer');
  });

  it('artifact paths per era (talos-imager §7.2)', () => {
    assert.deepEqual(installerArtifacts('amd64', false, { supportsUnifiedInstaller: false }), {
      era: 'kernel',
      kernel: 'usr/install/amd64/vmlinuz',
      initramfs: 'usr/install/amd64/initramfs.xz',
    });
    assert.deepEqual(installerArtifacts('arm64', true, { supportsUnifiedInstaller: false }), {
      era: 'uki',
      uki: 'usr/install/arm64/vmlinuz.efi.signed',
      systemdBoot: 'usr/install/arm64/systemd-boot.efi',
    });
    for (const sb of [false, true]) {
      assert.equal(
        (installerArtifacts('amd64', sb, { supportsUnifiedInstaller: true }) as { uki: string }).uki,
        'usr/install/amd64/vmlinuz.efi',
      );
    }
  });
});

describe('OCI error documents', () => {
  it('map factory codes to distribution codes on /v2 paths', () => {
    assert.ok(isRegistryPath('/v2'));
    assert.ok(isRegistryPath('/v2/'));
    assert.ok(isRegistryPath('/v2/installer/x/manifests/v1'));
    assert.ok(!isRegistryPath('/v2x'));
    assert.ok(!isRegistryPath('/image/v2'));
    assert.equal(ociErrorCode('SCHEMATIC_NOT_FOUND'), 'NAME_UNKNOWN');
    assert.equal(ociErrorCode('VERSION_UNAVAILABLE'), 'MANIFEST_UNKNOWN');
    assert.equal(ociErrorCode('METHOD_NOT_ALLOWED'), 'UNSUPPORTED');
    assert.equal(ociErrorCode('INTERNAL'), 'UNKNOWN');
    const doc = JSON.parse(
      ociErrorDocument(new FactoryError('BLOB_UNKNOWN', 'blob x is unknown')),
    ) as unknown;
    assert.deepEqual(doc, {
      errors: [
        { code: 'BLOB_UNKNOWN', message: 'blob x is unknown', detail: { factoryCode: 'BLOB_UNKNOWN' } },
      ],
    });
  });
});

describe('cosign simple signing', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

  it('writes the payload cosign writes, and openssl verifies the signature', async () => {
    const payload = simpleSigningPayload('factory.test/installer/abc', DIGEST);
    assert.equal(
      payload.toString(),
      `{"critical":{"identity":{"docker-reference":"factory.test/installer/abc"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":null}`,
    );
    const sig = signPayload(privateKey, payload);
    assert.ok(verifySignature(publicKey, payload, sig, DIGEST));
    await writeFile(join(dir, 'payload'), payload);
    await writeFile(join(dir, 'sig.der'), Buffer.from(sig, 'base64'));
    await writeFile(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
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

  it('rejects other digests, other keys, tampered payloads and garbage', () => {
    const payload = simpleSigningPayload('r/x', DIGEST);
    const sig = signPayload(privateKey, payload);
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    assert.ok(!verifySignature(publicKey, payload, sig, `sha256:${'cd'.repeat(32)}`));
    assert.ok(!verifySignature(other.publicKey, payload, sig, DIGEST));
    assert.ok(
      !verifySignature(publicKey, Buffer.from(payload.toString().replace('r/x', 'r/y')), sig, DIGEST),
    );
    assert.ok(!verifySignature(publicKey, payload, 'not base64 at all', DIGEST));
    const wrongType = Buffer.from(payload.toString().replace('cosign container image signature', 'other'));
    assert.ok(!verifySignature(publicKey, wrongType, signPayload(privateKey, wrongType), DIGEST));
  });

  it('the signature image has one simplesigning layer carrying the annotation; tag sha256-<hex>.sig', () => {
    const payload = simpleSigningPayload('r/x', DIGEST);
    const image = buildSignatureImage(payload, 'c2ln');
    const doc = parseManifest(image.manifest.bytes, undefined, 'sig');
    assert.equal(doc.kind, 'manifest');
    if (doc.kind !== 'manifest') return;
    assert.equal(doc.config.digest, sha256Digest(image.config));
    assert.deepEqual(signatureLayers(doc), [
      { digest: sha256Digest(payload), size: payload.length, signature: 'c2ln' },
    ]);
    const config = JSON.parse(image.config.toString()) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(config.rootfs.diff_ids, [sha256Digest(payload)]);
    assert.equal(signatureTag(DIGEST), `sha256-${'ab'.repeat(32)}.sig`);
  });
});

describe('signing key', () => {
  it('is generated once (0600) and reloaded; a configured key must be EC P-256 PEM', async () => {
    const generated = join(dir, 'keys', 'signing-key.pem');
    const [a, b] = await Promise.all([
      loadSigningKey(undefined, generated),
      loadSigningKey(undefined, generated),
    ]);
    assert.equal(a.publicPem, b.publicPem, 'two racing loaders keep one key');
    assert.equal((await loadSigningKey(undefined, generated)).publicPem, a.publicPem);
    assert.equal((await stat(generated)).mode & 0o777, 0o600);
    assert.equal((await readdir(join(dir, 'keys'))).length, 1, 'no temp files left');
    assert.equal((await loadSigningKey(generated, join(dir, 'unused'))).publicPem, a.publicPem);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    await writeFile(join(dir, 'rsa.pem'), rsa);
    await writeFile(join(dir, 'junk.pem'), 'junk');
    for (const [file, reason] of [
      ['rsa.pem', /ECDSA P-256/],
      ['junk.pem', /not a PEM private key/],
      ['missing.pem', /cannot be read/],
    ] as const) {
      await assert.rejects(
        loadSigningKey(join(dir, file), generated),
        (e: unknown) =>
          isFactoryError(e, 'CONFIG_INVALID') && reason.test(e.message) && !e.message.includes(dir),
      );
    }
  });
});

describe('registry store', () => {
  it('verifies on read: corrupt content and unusable records are removed and reported missing', async () => {
    const root = join(dir, 'store');
    const store = new RegistryStore(root, { maxBytes: 1024 });
    const digest = await store.putManifest(Buffer.from('{"schemaVersion":2}'));
    assert.deepEqual(await store.getManifest(digest), Buffer.from('{"schemaVersion":2}'));
    await writeFile(join(root, 'manifests', digest.slice(7)), '{"schemaVersion":3}');
    assert.equal(await store.getManifest(digest), undefined);
    const big = await store.putBlob(Buffer.alloc(2048));
    assert.equal(await store.getBlob(big), undefined, 'over the read cap');
    await store.putLocator(DIGEST, {
      key: 'a'.repeat(64),
      offset: 512,
      size: 10,
      image: 'installer',
      schematic: 'b'.repeat(64),
      version: 'v1.5.5',
      arch: 'amd64',
    });
    assert.equal((await store.getLocator(DIGEST))?.offset, 512);
    await writeFile(join(root, 'layers', `${DIGEST.slice(7)}.json`), '{"key":"../x"}');
    assert.equal(await store.getLocator(DIGEST), undefined);
    const repo = `installer/${'b'.repeat(64)}`;
    await store.setTag(repo, 'v1.5.5', digest);
    assert.equal(await store.getTag(repo, 'v1.5.5'), digest);
    assert.equal(await store.getTag('../etc', 'passwd'), undefined);
    assert.equal(await store.getTag(repo, '../../x'), undefined);
  });
});

describe('docker archive reader', () => {
  it('round-trips the writer and refuses a member whose bytes do not match its name', async () => {
    const layerPath = join(dir, 'layer.tar');
    const layerBytes = Buffer.from('pretend this is a tar layer');
    await writeFile(layerPath, layerBytes);
    const layer = {
      path: layerPath,
      digest: sha256Digest(layerBytes),
      size: layerBytes.length,
      mediaType: 'x.tar',
    };
    const chunks: Buffer[] = [];
    await writeDockerArchive((c) => void chunks.push(Buffer.from(c)), {
      config: Buffer.from('{"architecture":"amd64"}'),
      layers: [layer],
      repoTags: ['factory.test/installer/x:v1'],
    });
    const archive = Buffer.concat(chunks);
    const limits = { maxConfigBytes: 1 << 20, maxLayerBytes: 1 << 20 };
    const image = await readDockerArchive([archive], limits, 'test');
    assert.deepEqual(image.repoTags, ['factory.test/installer/x:v1']);
    assert.equal(image.layers[0]!.digest, layer.digest);
    assert.equal(
      archive.subarray(image.layers[0]!.offset, image.layers[0]!.offset + layer.size).toString(),
      layerBytes.toString(),
    );
    const tampered = Buffer.from(archive);
    const at = image.layers[0]!.offset;
    tampered[at] = (tampered[at] ?? 0) ^ 0xff;
    await assert.rejects(readDockerArchive([tampered], limits, 'test'), /hashes to/);
    await assert.rejects(readDockerArchive([archive], { ...limits, maxLayerBytes: 4 }, 'test'), /blob limit/);
  });
});
