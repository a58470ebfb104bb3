/** Unit tests for the fixture OCI layout writer and deterministic layers, checked with skopeo and tar. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from '../fixtures/exec.js';
import { sha256File, sha256Hex } from '../fixtures/hash.js';
import { extractImage, platformManifest, resolveTag } from '../fixtures/layout-read.js';
import { MEDIA_TYPES, OciLayoutWriter, REF_NAME } from '../fixtures/oci-layout.js';
import { buildLayer } from '../fixtures/tar-layer.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fixture-oci-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function stageTree(root: string, text: string): Promise<void> {
  await mkdir(path.join(root, 'rootfs/usr/local/bin'), { recursive: true });
  await writeFile(path.join(root, 'manifest.yaml'), 'version: v1alpha1\n');
  await writeFile(path.join(root, 'rootfs/usr/local/bin/tool'), text, { mode: 0o755 });
}

test(
  'layers are deterministic gzip tars: sorted, root-owned, mtime 0, no ./ prefix',
  { timeout: 30_000 },
  async () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    await stageTree(a, 'same');
    await new Promise((r) => setTimeout(r, 20));
    await stageTree(b, 'same');
    const la = await buildLayer(a, path.join(dir, 'a.tar.gz'));
    const lb = await buildLayer(b, path.join(dir, 'b.tar.gz'));
    assert.equal(la.digest, lb.digest);
    assert.equal(la.diffId, lb.diffId);
    assert.equal(la.digest, `sha256:${await sha256File(la.file)}`);
    const { stdout } = await run('tar', ['-tvzf', la.file, '--numeric-owner']);
    const lines = stdout.toString().trim().split('\n');
    assert.deepEqual(
      lines.map((l) => l.split(/\s+/).at(-1)),
      [
        'manifest.yaml',
        'rootfs/',
        'rootfs/usr/',
        'rootfs/usr/local/',
        'rootfs/usr/local/bin/',
        'rootfs/usr/local/bin/tool',
      ],
    );
    for (const l of lines) {
      assert.match(l, / 0\/0 /, 'uid/gid 0');
      assert.match(l, / 1970-01-01 /, 'mtime 0');
    }
    assert.match(lines.at(-1)!, /^-rwxr-xr-x /);
    const gz = await readFile(la.file);
    assert.equal(gz.readUInt32LE(4), 0, 'gzip header mtime is 0 (gzip -n)');
  },
);

test(
  'multi-arch images: index.json names tags, skopeo reads them back with the same digests',
  { timeout: 60_000 },
  async () => {
    const stage = path.join(dir, 'img');
    await stageTree(stage, 'x');
    const layer = await buildLayer(stage, path.join(dir, 'img.tar.gz'));
    const layout = path.join(dir, 'layout');
    const w = await new OciLayoutWriter(layout).open();
    const { index, manifests } = await w.putMultiArch('v1.0.0', [
      { arch: 'amd64', layers: [layer], config: { Entrypoint: ['/bin/x'], Env: ['VERSION=v1.0.0'] } },
      { arch: 'arm64', layers: [layer] },
    ]);
    const docker = await w.putMultiArch('legacy', [{ arch: 'amd64', layers: [layer] }], 'docker');
    await w.save();

    const indexJson = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as {
      manifests: { mediaType: string; digest: string; annotations: Record<string, string> }[];
    };
    assert.deepEqual(
      indexJson.manifests.map((m) => [m.annotations[REF_NAME], m.mediaType, m.digest]),
      [
        ['legacy', MEDIA_TYPES.docker.index, docker.index.digest],
        ['v1.0.0', MEDIA_TYPES.oci.index, index.digest],
      ],
    );
    assert.equal(await readFile(path.join(layout, 'oci-layout'), 'utf8'), '{"imageLayoutVersion":"1.0.0"}');
    const raw = await run('skopeo', ['inspect', '--raw', `oci:${layout}:v1.0.0`]);
    assert.equal(`sha256:${sha256Hex(raw.stdout)}`, index.digest);
    const inspect = JSON.parse(
      (await run('skopeo', ['inspect', `oci:${layout}:v1.0.0`])).stdout.toString(),
    ) as { Architecture: string; Env: string[] };
    assert.equal(inspect.Architecture, 'amd64');
    assert.deepEqual(inspect.Env, ['VERSION=v1.0.0']);

    const arm = await platformManifest(layout, 'v1.0.0', 'arm64');
    assert.equal(arm.desc.digest, manifests[1]!.digest);
    assert.deepEqual(
      arm.layers.map((l) => l.digest),
      [layer.digest],
    );
    const legacy = await platformManifest(layout, 'legacy', 'amd64');
    assert.equal(legacy.desc.mediaType, MEDIA_TYPES.docker.manifest);
    assert.equal(legacy.config.mediaType, MEDIA_TYPES.docker.config);
    assert.equal(legacy.layers[0]!.mediaType, MEDIA_TYPES.docker.layer);

    const out = path.join(dir, 'extracted');
    await extractImage(layout, 'v1.0.0', 'arm64', out);
    assert.equal(await readFile(path.join(out, 'rootfs/usr/local/bin/tool'), 'utf8'), 'x');
    await assert.rejects(resolveTag(layout, 'nope'), /no tag "nope"/);
    await assert.rejects(platformManifest(layout, 'legacy', 'arm64'), /no linux\/arm64 image/);
  },
);

test('reopening a layout keeps its tags and retagging replaces one', async () => {
  const layout = path.join(dir, 'layout');
  const w = await new OciLayoutWriter(layout).open();
  const d = await w.putBytes(Buffer.from('{}'), MEDIA_TYPES.oci.manifest);
  w.tag('legacy', d);
  await w.save();
  const tags = (
    JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    }
  ).manifests;
  assert.deepEqual(
    tags.map((m) => [m.annotations[REF_NAME], m.digest]),
    [
      ['legacy', d.digest],
      ['v1.0.0', tags[1]!.digest],
    ],
  );
  assert.throws(() => w.tag('bad tag', d), /not a valid OCI tag/);
});
