import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFactoryError } from '../../src/errors.js';
import type { AssetRequest } from '../../src/profile/build-request.js';
import {
  assetFilename,
  formatAssetPath,
  parseAssetPath,
  PATH_ERROR_PREFIX,
  splitAssetSuffixes,
} from '../../src/profile/path.js';
import { platformNames } from '../../src/profile/platforms.js';

const img = (
  platform: string,
  arch: 'amd64' | 'arm64',
  secureBoot: boolean,
  diskFormat: 'raw' | 'qcow2' | 'vhd' | 'ova',
  compression: 'none' | 'tar.gz' | 'gz' | 'xz' | 'zst',
  diskSizeMiB: number,
  formatOptions = '',
): AssetRequest => ({
  kind: 'image',
  platform,
  arch,
  secureBoot,
  image: { diskFormat, formatOptions, compression, diskSizeMiB },
});

describe('parseAssetPath: spec examples (image-factory §3.1)', () => {
  const cases: [string, AssetRequest][] = [
    ['metal-amd64.raw.xz', img('metal', 'amd64', false, 'raw', 'xz', 1246)],
    ['metal-arm64.raw.zst', img('metal', 'arm64', false, 'raw', 'zst', 1246)],
    [
      'aws-amd64-secureboot.qcow2.tar.gz',
      img('aws', 'amd64', true, 'qcow2', 'tar.gz', 8192, 'cluster_size=8k'),
    ],
    ['azure-amd64.vhd', img('azure', 'amd64', false, 'vhd', 'none', 8192, 'subformat=fixed,force_size')],
    ['digital-ocean-amd64.raw.gz', img('digital-ocean', 'amd64', false, 'raw', 'gz', 8192)],
    ['gcp-amd64.raw.tar.gz', img('gcp', 'amd64', false, 'raw', 'tar.gz', 8192)],
    ['vmware-amd64.ova', img('vmware', 'amd64', false, 'ova', 'none', 8192)],
    ['metal-amd64.qcow2', img('metal', 'amd64', false, 'qcow2', 'none', 1246, 'cluster_size=8k')],
    ['nocloud-amd64-uki.efi', { kind: 'uki', platform: 'nocloud', arch: 'amd64', secureBoot: false }],
    ['metal-arm64-secureboot.iso', { kind: 'iso', platform: 'metal', arch: 'arm64', secureBoot: true }],
    ['cmdline-aws-arm64', { kind: 'cmdline', platform: 'aws', arch: 'arm64', secureBoot: false }],
    // the rest of the rule table
    ['kernel-amd64', { kind: 'kernel', platform: 'metal', arch: 'amd64', secureBoot: false }],
    ['kernel-x86_64', { kind: 'kernel', platform: 'metal', arch: 'amd64', secureBoot: false }],
    ['initramfs-arm64.xz', { kind: 'initramfs', platform: 'metal', arch: 'arm64', secureBoot: false }],
    ['initramfs-i386.xz', { kind: 'initramfs', platform: 'metal', arch: 'amd64', secureBoot: false }],
    [
      'cmdline-metal-amd64-secureboot',
      { kind: 'cmdline', platform: 'metal', arch: 'amd64', secureBoot: true },
    ],
    [
      'cmdline-digital-ocean-x86_64',
      { kind: 'cmdline', platform: 'digital-ocean', arch: 'amd64', secureBoot: false },
    ],
    ['metal-amd64-secureboot-uki.efi', { kind: 'uki', platform: 'metal', arch: 'amd64', secureBoot: true }],
    ['installer-amd64.tar', { kind: 'installer', platform: 'metal', arch: 'amd64', secureBoot: false }],
    [
      'installer-arm64-secureboot.tar',
      { kind: 'installer', platform: 'metal', arch: 'arm64', secureBoot: true },
    ],
    [
      'aws-installer-arm64-secureboot.tar',
      { kind: 'installer', platform: 'aws', arch: 'arm64', secureBoot: true },
    ],
    [
      'digital-ocean-installer-amd64.tar',
      { kind: 'installer', platform: 'digital-ocean', arch: 'amd64', secureBoot: false },
    ],
    // upstream's first-"-installer-" cut makes this odd spelling work too
    [
      'digital-installer-ocean-amd64.tar',
      { kind: 'installer', platform: 'digital-ocean', arch: 'amd64', secureBoot: false },
    ],
    ['exoscale-arm64.qcow2.xz', img('exoscale', 'arm64', false, 'qcow2', 'xz', 10240, 'cluster_size=8k')],
    // oracle's built-in options apply even to raw; equinixMetal/packet have no built-in profile
    ['oracle-amd64.raw', img('oracle', 'amd64', false, 'raw', 'none', 8192, 'cluster_size=8k')],
    ['equinixMetal-amd64.raw.xz', img('equinixMetal', 'amd64', false, 'raw', 'xz', 8192)],
    ['packet-arm64.qcow2', img('packet', 'arm64', false, 'qcow2', 'none', 8192, 'cluster_size=8k')],
    [
      'alibabacloud-amd64.qcow2',
      img('alibabacloud', 'amd64', false, 'qcow2', 'none', 1246, 'cluster_size=8k'),
    ],
    // `initramfs-<x>` without .xz falls through (here: to a disk image of platform "initramfs" → unknown)
  ];
  for (const [path, expected] of cases) {
    it(path, () => assert.deepEqual(parseAssetPath(path), expected));
  }
});

function assertPathError(path: string, reason: string): void {
  assert.throws(
    () => parseAssetPath(path),
    (e: unknown) => {
      assert.ok(isFactoryError(e, 'PATH_INVALID'), `expected PATH_INVALID for ${path}, got ${String(e)}`);
      assert.equal(e.message, `${PATH_ERROR_PREFIX}${reason}`);
      assert.equal(e.status, 400);
      return true;
    },
  );
}

describe('parseAssetPath: 1.5-era board paths', () => {
  it('metal-<board>-arm64 is a metal arm64 disk image naming the board (aliases too)', () => {
    for (const [path, board, secureBoot] of [
      ['metal-rpi_generic-arm64.raw.xz', 'rpi_generic', false],
      ['metal-rpi_4-arm64.raw.xz', 'rpi_4', false],
      ['metal-rockpi_4c-arm64-secureboot.raw', 'rockpi_4c', true],
    ] as const) {
      const r = parseAssetPath(path);
      assert.equal(r.kind, 'image');
      assert.equal(r.platform, 'metal');
      assert.equal(r.arch, 'arm64');
      assert.equal(r.secureBoot, secureBoot);
      assert.equal(r.kind === 'image' ? r.image.board : undefined, board);
    }
  });
});

describe('parseAssetPath: errors (exact upstream text)', () => {
  const cases: [string, string][] = [
    ['metal-amd64.ssd', 'invalid profile path: "metal-amd64.ssd"'],
    ['metal-amd64.ssd.xz', 'invalid profile path: "metal-amd64.ssd"'],
    ['metal-amd64.iso.xz', 'invalid profile path: "metal-amd64.iso"'],
    ['', 'invalid profile path: ""'],
    ['kernel-', 'invalid architecture: ""'],
    ['kernel-amd64-secureboot', 'invalid architecture: "amd64-secureboot"'],
    ['kernel-riscv64', 'invalid architecture: "riscv64"'],
    ['cmdline-metal', 'invalid platform-arch: "metal"'],
    ['cmdline-metal-amd64.iso', 'invalid architecture: "amd64.iso"'],
    ['metal.iso', 'invalid platform-arch: "metal"'],
    ['metal-secureboot.iso', 'invalid platform-arch: "metal"'],
    // An unknown board keeps upstream's error; known boards map to their overlay (below).
    ['metal-no_such_board-arm64.raw.xz', 'invalid architecture: "no_such_board-arm64"'],
    ['metal-rpi_generic-amd64.raw.xz', 'invalid architecture: "rpi_generic-amd64"'],
    ['metal-amd64-secureboot-secureboot.iso', 'invalid architecture: "amd64-secureboot"'],
    ['initramfs-foo.xz', 'invalid architecture: "foo"'],
    ['installer-x.tar', 'invalid architecture: "x"'],
    ['metal-AMD64.iso', 'invalid architecture: "AMD64"'],
    ['metal-amd64.raw\n', 'invalid profile path: "metal-amd64.raw\\n"'],
    ['metal-"x".raw', 'invalid architecture: "\\"x\\""'],
  ];
  for (const [path, reason] of cases) {
    it(JSON.stringify(path), () => assertPathError(path, reason));
  }

  it('unknown platforms are rejected with a 400 naming the platform and listing the valid ones', () => {
    const valid = platformNames().join(', ');
    assertPathError('foo-amd64.iso', `unknown platform "foo"; valid platforms: ${valid}`);
    assertPathError('initramfs-amd64.raw', `unknown platform "initramfs"; valid platforms: ${valid}`);
    assertPathError('-installer-amd64.tar', `unknown platform ""; valid platforms: ${valid}`);
    assertPathError('Metal-amd64.iso', `unknown platform "Metal"; valid platforms: ${valid}`);
    assert.ok(valid.includes('metal') && valid.includes('digital-ocean') && valid.includes('equinixMetal'));
  });

  it('an architecture error wins over an unknown platform (upstream checks arch first)', () => {
    assertPathError('foo-bar.iso', 'invalid architecture: "bar"');
  });
});

describe('splitAssetSuffixes / assetFilename / formatAssetPath', () => {
  it('strips .sigstore.json first, else one checksum suffix', () => {
    assert.deepEqual(splitAssetSuffixes('metal-amd64.iso.sha256'), {
      path: 'metal-amd64.iso',
      checksum: 'sha256',
      signature: false,
    });
    assert.deepEqual(splitAssetSuffixes('metal-amd64.iso.sha512'), {
      path: 'metal-amd64.iso',
      checksum: 'sha512',
      signature: false,
    });
    assert.deepEqual(splitAssetSuffixes('metal-amd64.iso.sigstore.json'), {
      path: 'metal-amd64.iso',
      signature: true,
    });
    assert.deepEqual(splitAssetSuffixes('metal-amd64.iso.sha256.sigstore.json'), {
      path: 'metal-amd64.iso.sha256',
      signature: true,
    });
    assert.deepEqual(splitAssetSuffixes('metal-amd64.iso.sha256.sha512'), {
      path: 'metal-amd64.iso.sha256',
      checksum: 'sha512',
      signature: false,
    });
    assert.deepEqual(splitAssetSuffixes('kernel-amd64'), { path: 'kernel-amd64', signature: false });
  });

  it('filename: a non-empty override wins, else the stripped path', () => {
    assert.equal(assetFilename('metal-amd64.iso'), 'metal-amd64.iso');
    assert.equal(assetFilename('metal-amd64.iso', ''), 'metal-amd64.iso');
    assert.equal(assetFilename('metal-amd64.iso', 'talos.iso'), 'talos.iso');
  });

  it('formats canonical paths that parse back', () => {
    for (const path of [
      'kernel-arm64',
      'initramfs-amd64.xz',
      'cmdline-digital-ocean-amd64-secureboot',
      'metal-amd64-secureboot.iso',
      'nocloud-arm64-uki.efi',
      'installer-amd64-secureboot.tar',
      'aws-installer-arm64.tar',
      'gcp-amd64.raw.tar.gz',
      'azure-arm64-secureboot.vhd.zst',
      'vmware-amd64.ova',
    ]) {
      assert.equal(formatAssetPath(parseAssetPath(path)), path);
    }
    assert.equal(formatAssetPath(parseAssetPath('kernel-x86_64')), 'kernel-amd64');
  });
});
