// Manifest documents: building, parsing/validation, platform selection, digests, Link headers.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isFactoryError } from '../../src/errors.js';
import {
  buildImageIndex,
  buildImageManifest,
  describeManifest,
  digestFile,
  DOCKER_MANIFEST_LIST,
  EMPTY_CONFIG_DESCRIPTOR,
  isValidDigest,
  OCI_INDEX,
  parseManifest,
  parseNextLink,
  parsePlatform,
  selectPlatform,
  sha256Digest,
  type ImageIndex,
} from '../../src/oci/index.js';

test('the empty config descriptor is the well-known one', () => {
  assert.equal(
    EMPTY_CONFIG_DESCRIPTOR.digest,
    'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  );
  assert.equal(EMPTY_CONFIG_DESCRIPTOR.size, 2);
});

test('built manifests parse back; bytes and digest agree', () => {
  const layer = {
    mediaType: 'application/data',
    digest: sha256Digest(Buffer.from('x')),
    size: 1,
    annotations: { a: 'b' },
  };
  const m = buildImageManifest({
    config: EMPTY_CONFIG_DESCRIPTOR,
    layers: [layer],
    artifactType: 'application/x-test',
  });
  assert.equal(m.digest, sha256Digest(m.bytes));
  const doc = parseManifest(m.bytes, undefined, 'test manifest');
  assert.equal(doc.kind, 'manifest');
  if (doc.kind === 'manifest') {
    assert.deepEqual(doc.layers, [layer]);
    assert.equal(doc.artifactType, 'application/x-test');
  }
  const idx = buildImageIndex({
    manifests: [
      { descriptor: describeManifest(m), platform: { os: 'linux', architecture: 'amd64' } },
      { descriptor: describeManifest(m), platform: { os: 'linux', architecture: 'arm64' } },
    ],
  });
  const parsed = parseManifest(idx.bytes, OCI_INDEX, 'test index');
  assert.equal(parsed.kind, 'index');
  assert.equal(parsed.mediaType, OCI_INDEX);
});

test('parseManifest rejects broken documents naming the field', () => {
  const cases: [unknown, string][] = [
    [{ schemaVersion: 1 }, 'schemaVersion'],
    [
      {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: 'x', digest: 'sha256:nothex', size: 1 }],
      },
      'manifests[0].digest',
    ],
    [
      {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: EMPTY_CONFIG_DESCRIPTOR,
        layers: [{ mediaType: 'x', digest: EMPTY_CONFIG_DESCRIPTOR.digest, size: -1 }],
      },
      'layers[0].size',
    ],
    [
      { schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v1+json' },
      'unsupported media type',
    ],
  ];
  for (const [doc, fragment] of cases) {
    assert.throws(
      () => parseManifest(Buffer.from(JSON.stringify(doc)), undefined, 'manifest a/b:v1'),
      (e: unknown) =>
        isFactoryError(e, 'UPSTREAM_UNAVAILABLE') &&
        e.message.includes('manifest a/b:v1') &&
        e.message.includes(fragment),
      fragment,
    );
  }
  assert.throws(
    () => parseManifest(Buffer.from('not json'), undefined, 'm'),
    (e: unknown) => isFactoryError(e) && e.message.includes('not JSON'),
  );
});

test('platform selection: variants, docker lists, missing platforms', () => {
  const d = (n: string): string => sha256Digest(Buffer.from(n));
  const index: ImageIndex = {
    kind: 'index',
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST_LIST,
    manifests: [
      { mediaType: 'm', digest: d('amd64'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      {
        mediaType: 'm',
        digest: d('arm64'),
        size: 1,
        platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      },
      {
        mediaType: 'm',
        digest: d('armv7'),
        size: 1,
        platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
      },
      { mediaType: 'm', digest: d('att'), size: 1 },
    ],
  };
  assert.equal(selectPlatform(index, 'linux/amd64').digest, d('amd64'));
  assert.equal(selectPlatform(index, 'linux/arm64').digest, d('arm64'));
  assert.equal(
    selectPlatform(index, { os: 'linux', architecture: 'arm64', variant: 'v8' }).digest,
    d('arm64'),
  );
  assert.equal(selectPlatform(index, 'linux/arm/v7').digest, d('armv7'));
  assert.throws(
    () => selectPlatform(index, 'linux/arm/v6', 'index x'),
    (e: unknown) =>
      isFactoryError(e, 'NOT_FOUND') && e.message.includes('index x') && e.message.includes('linux/arm/v7'),
  );
  assert.throws(
    () => parsePlatform('linux'),
    (e: unknown) => isFactoryError(e, 'CONFIG_INVALID'),
  );
});

test('digests: validation and file hashing', async () => {
  assert.equal(isValidDigest(`sha256:${'0'.repeat(64)}`), true);
  assert.equal(isValidDigest(`sha256:${'A'.repeat(64)}`), false);
  assert.equal(isValidDigest(`md5:${'0'.repeat(32)}`), false);
  const dir = await mkdtemp(join(tmpdir(), 'digest-'));
  try {
    const data = Buffer.alloc(3 * 65536 + 7, 1);
    await writeFile(join(dir, 'f'), data);
    assert.deepEqual(await digestFile(join(dir, 'f')), { digest: sha256Digest(data), size: data.length });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('Link header: next relation only', () => {
  assert.equal(parseNextLink('</v2/a/tags/list?n=2&last=b>; rel="next"'), '/v2/a/tags/list?n=2&last=b');
  assert.equal(
    parseNextLink('<https://x/prev>; rel="prev", <https://x/next?a=1,2>; rel=next'),
    'https://x/next?a=1,2',
  );
  assert.equal(parseNextLink(null), undefined);
  assert.equal(parseNextLink('<https://x/prev>; rel="prev"'), undefined);
});
