import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseManifest } from '../../src/builders/extensions/manifest.js';
import { emitManifest } from '../../src/builders/extensions/manifest-yaml.js';
import {
  schematicExtensionManifest,
  schematicExtensionTar,
  writeSchematicExtensionDir,
} from '../../src/builders/extensions/schematic-extension.js';
import { validateExtensionDir } from '../../src/builders/extensions/validate.js';

const run = promisify(execFile);
const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('virtual schematic extension', () => {
  test('flavor naming (Image Service b730f09), empty flavor: the published tar hash', () => {
    const tar = schematicExtensionTar({ id: EMPTY_ID, naming: 'flavor' });
    assert.equal(tar.length, 5120);
    assert.equal(sha256(tar), '99f2656b3457100f53c9a26fcb69ee3ff0d1c4314c4cb876d3bd180c93df86e9');
    assert.equal(
      emitManifest(schematicExtensionManifest({ id: EMPTY_ID, naming: 'flavor' })),
      `version: v1alpha1\nmetadata:\n    name: flavor\n    version: ${EMPTY_ID}\n    author: Image Service\n` +
        '    description: Virtual extension which specifies the flavor of the image built with Image Service.\n' +
        "    compatibility:\n        talos:\n            version: '>= 1.0.0'\n",
    );
  });

  test('schematic naming (HEAD), Talos >= 1.7 with extraInfo: the published tar hash', () => {
    const o = {
      id: EMPTY_ID,
      externalURL: 'https://factory.talos.dev/',
      talosVersion: 'v1.7.0',
      schematicYaml: 'customization: {}\n',
    };
    const tar = schematicExtensionTar(o);
    assert.equal(tar.length, 5120);
    assert.equal(sha256(tar), 'dbb8d4a8d85c083293be900a1bd1870d7d530e1919817083867820fcd88c02cd');
    assert.match(
      emitManifest(schematicExtensionManifest(o)),
      /\n {4}extraInfo: \|\n {8}customization: \{\}\n$/,
    );
  });

  test('schematic naming for Talos < 1.7 drops extraInfo: the recomputed tar hash', () => {
    const tar = schematicExtensionTar({
      id: EMPTY_ID,
      externalURL: 'https://factory.talos.dev/',
      talosVersion: 'v1.6.7',
      schematicYaml: 'customization: {}\n',
    });
    assert.equal(sha256(tar), 'e7fe0130b43f86dbe39395dae4c150275bbe7b551146fa2e3496ec7eba66c6c5');
  });

  test('pre-releases of 1.7 count as 1.7; author is configurable', () => {
    const m = schematicExtensionManifest({
      id: EMPTY_ID,
      talosVersion: 'v1.7.0-beta.0',
      schematicYaml: 'customization: {}\n',
    });
    assert.equal(m.metadata.extraInfo, 'customization: {}\n');
    assert.equal(m.metadata.author, 'Image Factory');
    const custom = schematicExtensionManifest({ id: EMPTY_ID, author: 'Acme Factory (https://f.example/)' });
    assert.equal(custom.metadata.author, 'Acme Factory (https://f.example/)');
    assert.throws(() => schematicExtensionManifest({ id: 'nope' }), /invalid schematic ID/);
  });

  test('unpacked directory matches the tar, passes validation, and parses back', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'extension-schematic-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const o = {
      id: EMPTY_ID,
      externalURL: 'https://factory.talos.dev/',
      schematicYaml: 'customization:\n    extraKernelArgs:\n        - vga=791\n',
    };
    const ext = join(dir, 'ext');
    await writeSchematicExtensionDir(o, ext);
    const manifest = await validateExtensionDir(ext, { name: 'schematic', talosVersion: 'v1.9.0' });
    assert.deepEqual(manifest, parseManifest(emitManifest(schematicExtensionManifest(o))));
    assert.equal(manifest.metadata.extraInfo, o.schematicYaml);
    const file = await lstat(join(ext, 'rootfs/usr/local/share/schematic', EMPTY_ID));
    assert.equal(file.mode & 0o777, 0o644);
    assert.equal(file.size, 0);
    assert.equal((await lstat(join(ext, 'rootfs/usr'))).mode & 0o777, 0o755);

    const tarFile = join(dir, 'ext.tar');
    await writeFile(tarFile, schematicExtensionTar(o));
    const fromTar = join(dir, 'from-tar');
    await run('mkdir', [fromTar]);
    await run('tar', ['-xf', tarFile, '-C', fromTar]);
    assert.deepEqual(
      await readFile(join(fromTar, 'manifest.yaml')),
      await readFile(join(ext, 'manifest.yaml')),
    );
    const listing = (await run('tar', ['-tf', tarFile])).stdout.trim().split('\n');
    assert.deepEqual(listing, [
      'manifest.yaml',
      'rootfs/',
      'rootfs/usr/',
      'rootfs/usr/local/',
      'rootfs/usr/local/share/',
      'rootfs/usr/local/share/schematic/',
      `rootfs/usr/local/share/schematic/${EMPTY_ID}`,
    ]);
  });
});
