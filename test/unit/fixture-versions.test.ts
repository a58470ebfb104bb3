/** Unit tests for fixture version quirks, compatibility checks and extension manifests. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { isFactoryError } from '../../src/errors.js';
import { extensionManifestYaml, extensionTag, FIXTURE_EXTENSIONS } from '../fixtures/extensions.js';
import {
  FIXTURE_OVERLAY,
  overlayInstallerScript,
  overlayProfileYaml,
  stageOverlay,
} from '../fixtures/overlay.js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from '../fixtures/exec.js';
import { DEFAULT_FIXTURE_VERSIONS, satisfiesConstraint, versionSpec } from '../fixtures/versions.js';

test('quirks follow talos-imager §9 thresholds, ignoring the pre-release part', () => {
  const s = (t: string) => versionSpec(t);
  assert.deepEqual(
    ['v1.5.5', 'v1.7.0', 'v1.8.3', 'v1.10.0-rc.1', 'v1.10.6'].map((t) => [
      t,
      s(t).zstd,
      s(t).usrLib,
      s(t).installerBase,
      s(t).overlays,
    ]),
    [
      ['v1.5.5', false, false, false, false],
      ['v1.7.0', false, false, false, true],
      ['v1.8.3', true, false, false, true],
      ['v1.10.0-rc.1', true, true, true, true],
      ['v1.10.6', true, true, true, true],
    ],
  );
  assert.equal(s('v1.10.0-rc.1').prerelease, 'rc.1');
  assert.equal(s('v1.5.5').prerelease, undefined);
  assert.equal(s('v1.5.5').modulesRoot, 'lib/modules');
  assert.equal(s('v1.11.0-beta.1').firmwareRoot, 'usr/lib/firmware');
  assert.equal(s('v1.5.5').baseFirmware, true);
  assert.equal(s('v1.8.3').baseFirmware, false);
});

test('bad tags are rejected with VERSION_INVALID naming the tag', () => {
  for (const bad of ['1.5.5', 'v1.5', 'v1.5.5+build', 'latest']) {
    assert.throws(
      () => versionSpec(bad),
      (e: unknown) => isFactoryError(e, 'VERSION_INVALID') && e.message.includes(bad),
    );
  }
});

test('the default set has a tag below 1.2.0 and pre-releases on both sides of the highest minor', () => {
  const specs = DEFAULT_FIXTURE_VERSIONS.map(versionSpec);
  assert.ok(specs.some((s) => s.major === 1 && s.minor < 2));
  const highestMinor = Math.max(...specs.map((s) => s.minor));
  assert.ok(specs.some((s) => s.prerelease !== undefined && s.minor === highestMinor));
  assert.ok(specs.some((s) => s.prerelease !== undefined && s.minor < highestMinor));
});

test('>= constraints compare major.minor.patch and ignore pre-releases', () => {
  assert.equal(satisfiesConstraint(versionSpec('v1.8.0-alpha.1'), '>= v1.8.0'), true);
  assert.equal(satisfiesConstraint(versionSpec('v1.7.9'), '>= v1.8.0'), false);
  assert.equal(satisfiesConstraint(versionSpec('v2.0.0'), '>= v1.8.0'), true);
  assert.equal(satisfiesConstraint(versionSpec('v1.5.5'), undefined), true);
  assert.throws(() => satisfiesConstraint(versionSpec('v1.5.5'), '~1.5'), /not ">= vX.Y.Z"/);
});

test('extension manifests follow talos-imager §1.4 and parse as YAML', () => {
  for (const def of FIXTURE_EXTENSIONS) {
    const m = parse(extensionManifestYaml(def)) as { version: string; metadata: Record<string, unknown> };
    assert.equal(m.version, 'v1alpha1');
    assert.equal(m.metadata.name, def.name);
    assert.equal(String(m.metadata.version), def.version);
    assert.equal(m.metadata.author, def.author);
    assert.equal(m.metadata.description, `${def.description}\n`);
    assert.deepEqual(
      m.metadata.compatibility,
      def.compatibility === undefined ? undefined : { talos: { version: def.compatibility } },
    );
    assert.match(extensionTag(def, versionSpec('v1.11.0-beta.1')), /^[\w][\w.-]{0,127}$/);
  }
  // The bare numeric version is the trap real manifests set: YAML reads it as a number.
  const intel = FIXTURE_EXTENSIONS.find((d) => d.bareVersion)!;
  assert.equal(
    typeof (parse(extensionManifestYaml(intel)) as { metadata: { version: unknown } }).metadata.version,
    'number',
  );
  assert.deepEqual(
    FIXTURE_EXTENSIONS.map((d) => d.name),
    [...FIXTURE_EXTENSIONS.map((d) => d.name)].sort(),
    'catalog order is name order',
  );
});

test('the overlay installer speaks get-options/install over stdin YAML', { timeout: 20_000 }, async () => {
  const script = overlayInstallerScript('arm64');
  const { stdout } = await run('sh', ['-c', script, 'installer', 'get-options'], {
    input: 'kernelArg: "extra=1"\n',
  });
  assert.deepEqual(parse(stdout.toString()), {
    name: 'fixture-board',
    kernelArgs: ['console=ttyS0', 'fixture.overlay=fixture-board', 'extra=1'],
    partitionOptions: { offset: 2048 },
  });
  await assert.rejects(run('sh', ['-c', script, 'installer', 'bogus']), /unknown command: bogus/);
  assert.deepEqual(parse(overlayProfileYaml('arm64')), {
    arch: 'arm64',
    platform: 'metal',
    secureboot: false,
    output: { kind: 'image', outFormat: '.xz', imageOptions: { diskSize: 1306525696, diskFormat: 'raw' } },
  });
});

test(
  'the overlay installer `install` writes u-boot into the disk and the dtb into the boot tree',
  { timeout: 20_000 },
  async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fixture-overlay-'));
    try {
      await stageOverlay('arm64', path.join(dir, 'overlay'));
      const disk = path.join(dir, 'disk.raw');
      await writeFile(disk, Buffer.alloc(1 << 20));
      const input = `installDisk: ${disk}\nmountPrefix: ${dir}/mnt\nartifactsPath: ${dir}/overlay/artifacts\nextraOptions: {}\n`;
      await run(path.join(dir, 'overlay/installers/default'), ['install'], { input });
      const uboot = await readFile(path.join(dir, 'overlay/artifacts/arm64/u-boot/fixture-board/u-boot.bin'));
      const written = (await readFile(disk)).subarray(
        FIXTURE_OVERLAY.ubootOffset,
        FIXTURE_OVERLAY.ubootOffset + uboot.length,
      );
      assert.ok(written.equals(uboot), 'u-boot bytes at the documented offset');
      assert.ok(
        (await readFile(path.join(dir, 'mnt/boot/EFI/dtb/fixture-board.dtb'))).equals(
          await readFile(path.join(dir, 'overlay/artifacts/arm64/dtb/fixture/fixture-board.dtb')),
        ),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
