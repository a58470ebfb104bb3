import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FIELD_APPLICABILITY,
  FIELD_VERSION_REQUIREMENTS,
  fieldApplies,
  metaOnCmdline,
} from '../../src/profile/applicability.js';
import {
  ASSET_KINDS,
  canonicalBuildRequest,
  normalizeBuildRequest,
  type BuildRequest,
} from '../../src/profile/build-request.js';
import { parseAssetPath } from '../../src/profile/path.js';
import {
  DEFAULT_DISK_SIZE_MIB,
  diskImageDefaults,
  findPlatform,
  PLATFORMS,
  platformKernelArgs,
  platformNames,
} from '../../src/profile/platforms.js';
import { deriveQuirks } from '../../src/profile/quirks.js';
import { parseTalosVersion } from '../../src/profile/version.js';

const q = (v: string) => deriveQuirks(parseTalosVersion(v));

describe('platform table', () => {
  it('names are unique and the listed ones match image-factory §3.3 (+ alibabacloud)', () => {
    assert.equal(new Set(PLATFORMS.map((p) => p.name)).size, PLATFORMS.length);
    assert.deepEqual(
      PLATFORMS.filter((p) => p.listed).map((p) => p.name),
      [
        'metal',
        'aws',
        'gcp',
        'equinixMetal',
        'azure',
        'digital-ocean',
        'nocloud',
        'openstack',
        'vmware',
        'akamai',
        'cloudstack',
        'hcloud',
        'oracle',
        'upcloud',
        'vultr',
        'exoscale',
        'opennebula',
        'scaleway',
        'alibabacloud',
      ],
    );
    assert.deepEqual(platformNames().slice(0, 3), ['akamai', 'alibabacloud', 'aws']);
  });

  it('UI facts: suffixes, boot methods, secure boot, archs (spot checks from §3.3)', () => {
    const row = (name: string) => findPlatform(name)!;
    assert.equal(row('metal').diskImageSuffix, 'raw.zst');
    assert.deepEqual(row('metal').bootMethods, ['iso', 'disk-image', 'pxe']);
    assert.equal(row('gcp').diskImageSuffix, 'raw.tar.gz');
    assert.equal(row('azure').diskImageSuffix, 'vhd.xz');
    assert.equal(row('vmware').diskImageSuffix, 'ova');
    assert.equal(row('equinixMetal').diskImageSuffix, undefined);
    assert.deepEqual(row('digital-ocean').architectures, ['amd64']);
    assert.deepEqual(
      PLATFORMS.filter((p) => p.secureBoot).map((p) => p.name),
      ['metal', 'azure', 'nocloud', 'cloudstack'],
    );
    assert.equal(row('cloudstack').minVersion, '1.8.0-alpha.2');
  });

  it('built-in disk sizes / format options (Talos 1.14 profile.Default)', () => {
    const sizes = Object.fromEntries(PLATFORMS.map((p) => [p.name, diskImageDefaults(p, '').diskSizeMiB]));
    assert.deepEqual(sizes, {
      metal: 1246,
      aws: 8192,
      gcp: 8192,
      equinixMetal: 8192,
      azure: 8192,
      'digital-ocean': 8192,
      nocloud: 1246,
      openstack: 1246,
      vmware: 8192,
      akamai: 1246,
      cloudstack: 8192,
      hcloud: 1246,
      oracle: 8192,
      upcloud: 8192,
      vultr: 8192,
      exoscale: 10240,
      opennebula: 1246,
      scaleway: 1246,
      alibabacloud: 1246,
      packet: 8192,
      container: 8192,
    });
    assert.deepEqual(diskImageDefaults(findPlatform('azure'), 'cluster_size=8k'), {
      diskSizeMiB: 8192,
      formatOptions: 'subformat=fixed,force_size',
    });
    assert.deepEqual(diskImageDefaults(findPlatform('metal'), 'cluster_size=8k'), {
      diskSizeMiB: 1246,
      formatOptions: 'cluster_size=8k',
    });
    assert.equal(diskImageDefaults(undefined, '').diskSizeMiB, DEFAULT_DISK_SIZE_MIB);
  });

  it('kernel args: arch-aware and gated only for metal ttyS0 and AWS nvme', () => {
    const args = (name: string, arch: 'amd64' | 'arm64', v: string) =>
      platformKernelArgs(findPlatform(name)!, arch, q(v));
    assert.equal(args('metal', 'amd64', '1.7.0'), 'console=ttyS0 console=tty0');
    assert.equal(args('metal', 'amd64', '1.8.0'), 'console=tty0');
    assert.equal(args('metal', 'arm64', '1.5.0'), 'console=ttyAMA0 console=tty0');
    assert.equal(args('aws', 'arm64', '1.13.0'), 'console=tty1 console=ttyS0 net.ifnames=0');
    assert.equal(
      args('aws', 'arm64', '1.14.0'),
      'console=tty1 console=ttyS0 net.ifnames=0 nvme_core.io_timeout=4294967295',
    );
    assert.equal(args('akamai', 'amd64', '1.5.0'), 'console=ttyS0 console=tty0 console=tty1 net.ifnames=0');
    assert.equal(
      args('oracle', 'amd64', '1.5.0'),
      'console=tty1 console=ttyS0 net.ifnames=0 talos.dashboard.disabled=1',
    );
    for (const name of [
      'alibabacloud',
      'cloudstack',
      'exoscale',
      'hcloud',
      'nocloud',
      'opennebula',
      'openstack',
    ]) {
      assert.equal(args(name, 'arm64', '1.12.0'), 'console=tty1 console=ttyS0 net.ifnames=0', name);
    }
    assert.equal(args('container', 'amd64', '1.12.0'), '');
    assert.equal(findPlatform('packet')!.talosName, 'equinixMetal');
  });
});

describe('applicability table (image-factory §3.4)', () => {
  const ctx = (secureBoot: boolean, v: string) => ({ secureBoot, quirks: q(v) });

  it('covers every field × kind', () => {
    for (const row of Object.values(FIELD_APPLICABILITY))
      assert.deepEqual(Object.keys(row).sort(), [...ASSET_KINDS].sort());
  });

  it('rows as in the spec table', () => {
    const kindsWhere = (field: keyof typeof FIELD_APPLICABILITY, secureBoot: boolean, v: string) =>
      ASSET_KINDS.filter((k) => fieldApplies(field, k, ctx(secureBoot, v)));
    // The UKI embeds its cmdline: always (upstream builds no unsigned UKI before 1.10).
    assert.deepEqual(kindsWhere('extraKernelArgs', false, '1.9.0'), ['cmdline', 'iso', 'uki', 'image']);
    assert.deepEqual(kindsWhere('extraKernelArgs', true, '1.9.0'), [
      'cmdline',
      'iso',
      'uki',
      'installer',
      'image',
    ]);
    assert.deepEqual(kindsWhere('extraKernelArgs', false, '1.10.0'), [
      'cmdline',
      'iso',
      'uki',
      'installer',
      'image',
    ]);
    assert.deepEqual(kindsWhere('meta', true, '1.14.0'), ['cmdline', 'iso', 'image']);
    assert.deepEqual(kindsWhere('extensions', false, '1.5.0'), [
      'initramfs',
      'iso',
      'uki',
      'installer',
      'image',
    ]);
    assert.deepEqual(kindsWhere('embeddedMachineConfiguration', false, '1.5.0'), [
      'initramfs',
      'iso',
      'uki',
      'installer',
      'image',
    ]);
    assert.deepEqual(kindsWhere('bootloader', false, '1.5.0'), ['iso', 'image']);
    assert.deepEqual(kindsWhere('diskImageSectorSize', false, '1.5.0'), ['image']);
    assert.deepEqual(kindsWhere('secureBootEnrollKeys', false, '1.14.0'), []);
    assert.deepEqual(kindsWhere('secureBootEnrollKeys', true, '1.14.0'), ['iso', 'image']);
    assert.deepEqual(kindsWhere('secureBootAssets', true, '1.14.0'), [...ASSET_KINDS]);
    assert.deepEqual(
      ASSET_KINDS.filter((k) => metaOnCmdline(k, ctx(false, '1.14.0'))),
      ['cmdline', 'iso'],
    );
    assert.deepEqual(FIELD_VERSION_REQUIREMENTS.overlay, { quirk: 'supportsOverlay', scope: 'any' });
  });
});

describe('normalizeBuildRequest', () => {
  const req = (path: string, version = '1.10.0', schematicId = 'a'.repeat(64)): BuildRequest => ({
    ...parseAssetPath(path),
    schematicId,
    version,
  });

  it('is canonical JSON with sorted keys', () => {
    assert.equal(
      normalizeBuildRequest(req('metal-amd64.qcow2.xz', 'v1.10.0')),
      `{"arch":"amd64","image":{"compression":"xz","diskFormat":"qcow2","diskSizeMiB":1246,"formatOptions":"cluster_size=8k"},"kind":"image","platform":"metal","schematicId":"${'a'.repeat(64)}","secureBoot":false,"version":"v1.10.0"}`,
    );
  });

  it('equal for equivalent spellings (v prefix, arch alias, packet alias, key order)', () => {
    assert.equal(
      normalizeBuildRequest(req('kernel-x86_64', '1.10.0')),
      normalizeBuildRequest(req('kernel-amd64', 'v1.10.0')),
    );
    assert.equal(
      normalizeBuildRequest(req('cmdline-packet-amd64')),
      normalizeBuildRequest(req('cmdline-equinixMetal-amd64')),
    );
    const r = req('metal-amd64.iso');
    const reordered = {
      version: r.version,
      schematicId: r.schematicId,
      secureBoot: r.secureBoot,
      platform: r.platform,
      arch: r.arch,
      kind: r.kind,
    } as BuildRequest;
    assert.equal(normalizeBuildRequest(reordered), normalizeBuildRequest(r));
    assert.equal(canonicalBuildRequest(req('cmdline-packet-amd64')).platform, 'equinixMetal');
  });

  it('differs whenever the asset differs', () => {
    const texts = [
      req('metal-amd64.iso'),
      req('metal-amd64-secureboot.iso'),
      req('metal-arm64.iso'),
      req('nocloud-amd64.iso'),
      req('metal-amd64.iso', '1.10.1'),
      req('metal-amd64.iso', '1.10.0', 'b'.repeat(64)),
      req('metal-amd64.raw.xz'),
      req('metal-amd64.raw.zst'),
      req('metal-amd64.qcow2.xz'),
      req('installer-amd64.tar'),
    ].map(normalizeBuildRequest);
    assert.equal(new Set(texts).size, texts.length);
  });

  it('drops stray fields: only the fields of its kind are kept', () => {
    const withExtra = { ...req('metal-amd64.iso'), extra: 1 } as unknown as BuildRequest;
    assert.equal(normalizeBuildRequest(withExtra), normalizeBuildRequest(req('metal-amd64.iso')));
  });
});
