import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFactoryError } from '../../src/errors.js';
import type { Arch, AssetKind } from '../../src/profile/build-request.js';
import { buildCmdline, type CmdlineInput } from '../../src/profile/cmdline.js';
import { decodeMetaValues, encodeMetaValues } from '../../src/profile/meta-env.js';

const IMA = 'ima_template=ima-ng ima_appraise=fix ima_hash=sha512';
const PRE14 =
  'init_on_alloc=1 slab_nomerge pti=on consoleblank=0 nvme_core.io_timeout=4294967295 printk.devkmsg=on';
const POST14 = 'slab_nomerge pti=on consoleblank=0 printk.devkmsg=on';

function cmdline(platform: string, arch: Arch, version: string, extra: Partial<CmdlineInput> = {}): string {
  return buildCmdline({ platform, arch, version, kind: 'cmdline', secureBoot: false, ...extra });
}

describe('buildCmdline: HEAD imager unit-test strings (cmdline output)', () => {
  const cases: [string, Arch, string, string][] = [
    ['metal', 'amd64', '1.7.0', `talos.platform=metal console=ttyS0 console=tty0 ${PRE14} ${IMA}`],
    ['metal', 'arm64', '1.7.0', `talos.platform=metal console=ttyAMA0 console=tty0 ${PRE14} ${IMA}`],
    ['metal', 'amd64', '1.8.0', `talos.platform=metal console=tty0 ${PRE14} ${IMA}`],
    ['metal', 'arm64', '1.8.0', `talos.platform=metal console=ttyAMA0 console=tty0 ${PRE14} ${IMA}`],
    ['metal', 'amd64', '1.10.1', `talos.platform=metal console=tty0 ${PRE14} ${IMA} selinux=1`],
    [
      'metal',
      'arm64',
      '1.10.1',
      `talos.platform=metal console=ttyAMA0 console=tty0 ${PRE14} ${IMA} selinux=1`,
    ],
    ['metal', 'amd64', '1.11.0', `talos.platform=metal console=tty0 ${PRE14} selinux=1`],
    ['metal', 'arm64', '1.11.0', `talos.platform=metal console=ttyAMA0 console=tty0 ${PRE14} selinux=1`],
    [
      'metal',
      'amd64',
      '1.13.0',
      `talos.platform=metal console=tty0 ${PRE14} selinux=1 module.sig_enforce=1 proc_mem.force_override=never`,
    ],
    [
      'metal',
      'arm64',
      '1.13.0',
      `talos.platform=metal console=ttyAMA0 console=tty0 ${PRE14} selinux=1 module.sig_enforce=1 proc_mem.force_override=never`,
    ],
    [
      'aws',
      'amd64',
      '1.13.0',
      `talos.platform=aws console=tty1 console=ttyS0 net.ifnames=0 ${PRE14} selinux=1 module.sig_enforce=1 proc_mem.force_override=never`,
    ],
    [
      'aws',
      'arm64',
      '1.13.0',
      `talos.platform=aws console=tty1 console=ttyS0 net.ifnames=0 ${PRE14} selinux=1 module.sig_enforce=1 proc_mem.force_override=never`,
    ],
    [
      'metal',
      'amd64',
      '1.14.0',
      'talos.platform=metal console=tty0 slab_nomerge pti=on consoleblank=0 printk.devkmsg=on selinux=1 module.sig_enforce=1 proc_mem.force_override=never',
    ],
    [
      'metal',
      'arm64',
      '1.14.0',
      'talos.platform=metal console=ttyAMA0 console=tty0 slab_nomerge pti=on consoleblank=0 printk.devkmsg=on selinux=1 module.sig_enforce=1 proc_mem.force_override=never',
    ],
    [
      'aws',
      'amd64',
      '1.14.0',
      'talos.platform=aws console=tty1 console=ttyS0 net.ifnames=0 nvme_core.io_timeout=4294967295 slab_nomerge pti=on consoleblank=0 printk.devkmsg=on selinux=1 module.sig_enforce=1 proc_mem.force_override=never',
    ],
    [
      'aws',
      'arm64',
      '1.14.0',
      'talos.platform=aws console=tty1 console=ttyS0 net.ifnames=0 nvme_core.io_timeout=4294967295 slab_nomerge pti=on consoleblank=0 printk.devkmsg=on selinux=1 module.sig_enforce=1 proc_mem.force_override=never',
    ],
  ];
  for (const [platform, arch, version, expected] of cases) {
    it(`${platform} ${arch} ${version}`, () => assert.equal(cmdline(platform, arch, version), expected));
  }

  it('accepts a v prefix and treats pre-releases as their release (1.14.0-rc.1 = 1.14.0)', () => {
    assert.equal(cmdline('metal', 'amd64', 'v1.14.0-rc.1'), cmdline('metal', 'amd64', '1.14.0'));
    assert.equal(cmdline('metal', 'amd64', 'v1.8.0-alpha.0'), cmdline('metal', 'amd64', '1.8.0'));
  });
});

describe('buildCmdline: build order steps', () => {
  it('1.5 ISO with extra net.ifnames=0 matches the Talos 1.5 docs', () => {
    assert.equal(
      buildCmdline({
        platform: 'metal',
        arch: 'amd64',
        version: 'v1.5.0',
        kind: 'iso',
        secureBoot: false,
        extraArgs: ['net.ifnames=0'],
      }),
      `talos.platform=metal console=ttyS0 console=tty0 ${PRE14} ${IMA} net.ifnames=0`,
    );
  });

  it('the v1.5.0 PXE cmdline (integration test) and its secure-boot variant', () => {
    const plain = `talos.platform=metal console=ttyS0 console=tty0 ${PRE14} ${IMA}`;
    assert.equal(cmdline('metal', 'amd64', 'v1.5.0'), plain);
    assert.equal(
      cmdline('metal', 'amd64', 'v1.5.0', { secureBoot: true }),
      `${plain} lockdown=confidentiality`,
    );
  });

  it('secure boot drops lockdown from 1.14', () => {
    assert.equal(
      cmdline('metal', 'amd64', '1.14.0', { secureBoot: true }),
      cmdline('metal', 'amd64', '1.14.0'),
    );
    assert.match(cmdline('metal', 'amd64', '1.13.5', { secureBoot: true }), / lockdown=confidentiality$/);
  });

  it('ISO ≥ 1.8 gets talos.halt_if_installed=1 right after the platform args; other kinds do not', () => {
    const iso = buildCmdline({
      platform: 'metal',
      arch: 'amd64',
      version: '1.8.0',
      kind: 'iso',
      secureBoot: false,
    });
    assert.equal(iso, `talos.platform=metal console=tty0 talos.halt_if_installed=1 ${PRE14} ${IMA}`);
    const iso17 = buildCmdline({
      platform: 'metal',
      arch: 'amd64',
      version: '1.7.6',
      kind: 'iso',
      secureBoot: false,
    });
    assert.doesNotMatch(iso17, /halt_if_installed/);
    const image = buildCmdline({
      platform: 'metal',
      arch: 'amd64',
      version: '1.8.0',
      kind: 'image',
      secureBoot: false,
    });
    assert.doesNotMatch(image, /halt_if_installed/);
  });

  it('equinixMetal (and its packet alias) use ttyS1 on amd64, ttyAMA0,115200 on arm64', () => {
    assert.equal(
      cmdline('equinixMetal', 'amd64', '1.5.0'),
      `talos.platform=equinixMetal console=ttyS1,115200n8 ${PRE14} ${IMA}`,
    );
    assert.equal(cmdline('packet', 'amd64', '1.5.0'), cmdline('equinixMetal', 'amd64', '1.5.0'));
    assert.match(
      cmdline('packet', 'arm64', '1.14.0'),
      /^talos\.platform=equinixMetal console=ttyAMA0,115200 slab_nomerge/,
    );
  });

  it('platform args for azure, gcp, vmware (arch-aware), upcloud and container', () => {
    assert.match(
      cmdline('azure', 'amd64', '1.14.0'),
      /^talos\.platform=azure console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300 net\.ifnames=0 talos\.dashboard\.disabled=1 sysctl\.kernel\.kexec_load_disabled=1 slab_nomerge/,
    );
    assert.match(
      cmdline('gcp', 'arm64', '1.5.0'),
      /^talos\.platform=gcp console=ttyS0 net\.ifnames=0 talos\.dashboard\.disabled=1 sysctl\.kernel\.kexec_load_disabled=1 init_on_alloc=1/,
    );
    assert.match(
      cmdline('vmware', 'amd64', '1.14.0'),
      /^talos\.platform=vmware talos\.config=guestinfo console=tty0 console=ttyS0 earlyprintk=ttyS0,115200 net\.ifnames=0 slab/,
    );
    assert.match(
      cmdline('vmware', 'arm64', '1.14.0'),
      /^talos\.platform=vmware talos\.config=guestinfo console=tty0 console=ttyAMA0 net\.ifnames=0 slab/,
    );
    assert.match(
      cmdline('upcloud', 'amd64', '1.14.0'),
      /^talos\.platform=upcloud net\.ifnames=0 slab_nomerge/,
    );
    assert.match(cmdline('container', 'amd64', '1.14.0'), /^talos\.platform=container slab_nomerge/);
  });

  it('overlay args replace whole keys (step 4) before the defaults, and only where overlays apply', () => {
    const input = {
      platform: 'metal',
      arch: 'arm64' as const,
      version: '1.14.0',
      secureBoot: false,
      overlayArgs: ['console=tty0', 'console=ttyAMA0,115200', 'sysctl.kernel.kexec_load_disabled=1'],
    };
    assert.equal(
      buildCmdline({ ...input, kind: 'image' }),
      `talos.platform=metal console=tty0 console=ttyAMA0,115200 sysctl.kernel.kexec_load_disabled=1 ${POST14} selinux=1 module.sig_enforce=1 proc_mem.force_override=never`,
    );
    // Upstream never resolves the overlay for the cmdline asset (nor for PXE scripts).
    assert.equal(buildCmdline({ ...input, kind: 'cmdline' }), cmdline('metal', 'arm64', '1.14.0'));
  });

  it('extra args: console and talos.platform are overwritten in place, others appended, -key deletes', () => {
    const extraArgs = [
      'console=ttyS1,115200',
      'talos.platform=nocloud',
      '-selinux',
      '-pti=on',
      'foo',
      'slab_nomerge',
    ];
    assert.equal(
      cmdline('metal', 'amd64', '1.14.0', { extraArgs }),
      'talos.platform=nocloud console=ttyS1,115200 slab_nomerge slab_nomerge consoleblank=0 printk.devkmsg=on module.sig_enforce=1 proc_mem.force_override=never foo',
    );
  });

  it('-key=value deletes just that value; a key with all values deleted vanishes', () => {
    assert.equal(
      cmdline('metal', 'amd64', '1.7.0', { extraArgs: ['-console=ttyS0'] }),
      `talos.platform=metal console=tty0 ${PRE14} ${IMA}`,
    );
    assert.equal(
      cmdline('metal', 'amd64', '1.7.0', { extraArgs: ['-console=ttyS0', '-console=tty0'] }),
      `talos.platform=metal ${PRE14} ${IMA}`,
    );
  });

  it('extra args: never for kernel/initramfs; installer only with secure boot or Talos ≥ 1.10; always in a UKI', () => {
    const base = { platform: 'metal', arch: 'amd64' as const, secureBoot: false, extraArgs: ['quiet'] };
    const has = (kind: AssetKind, version: string, secureBoot = false): boolean =>
      buildCmdline({ ...base, kind, version, secureBoot }).endsWith(' quiet');
    assert.equal(has('kernel', '1.14.0'), false);
    assert.equal(has('initramfs', '1.14.0'), false);
    // The UKI embeds its cmdline: an unsigned pre-1.10 UKI (which upstream cannot build) keeps them.
    assert.equal(has('uki', '1.5.5'), true);
    assert.equal(has('uki', '1.9.0', true), true);
    assert.equal(has('installer', '1.10.0-alpha.1'), true);
    assert.equal(has('installer', '1.9.5'), false);
    for (const kind of ['cmdline', 'iso', 'image'] as const) assert.equal(has(kind, '1.5.0'), true);
  });

  it('unknown platform is a PROFILE_INVALID error naming it', () => {
    assert.throws(
      () => cmdline('nope', 'amd64', '1.14.0'),
      (e: unknown) => isFactoryError(e, 'PROFILE_INVALID') && e.message.includes('"nope"'),
    );
  });

  it('invalid version is a VERSION_INVALID error', () => {
    assert.throws(
      () => cmdline('metal', 'amd64', '1.14'),
      (e: unknown) => isFactoryError(e, 'VERSION_INVALID'),
    );
  });
});

describe('buildCmdline: META', () => {
  const meta = [{ key: 0xa, value: '{"externalIPs":["1.2.3.4"]}' }];
  const EXPECTED = 'talos.environment=INSTALLER_META_BASE64=MHhhPXsiZXh0ZXJuYWxJUHMiOlsiMS4yLjMuNCJdfQ==';

  it('adds talos.environment=INSTALLER_META_BASE64=… after the defaults, before extra args (step 7)', () => {
    const out = cmdline('metal', 'amd64', '1.5.0', { meta, extraArgs: ['quiet'] });
    assert.equal(out, `talos.platform=metal console=ttyS0 console=tty0 ${PRE14} ${IMA} ${EXPECTED} quiet`);
  });

  it('is on the cmdline for cmdline and iso, never for image/installer/uki/kernel/initramfs', () => {
    for (const kind of ['cmdline', 'iso'] as const) {
      assert.ok(
        buildCmdline({
          platform: 'metal',
          arch: 'amd64',
          version: '1.14.0',
          kind,
          secureBoot: false,
          meta,
        }).includes(EXPECTED),
      );
    }
    for (const kind of ['image', 'installer', 'uki', 'kernel', 'initramfs'] as const) {
      for (const secureBoot of [false, true]) {
        const out = buildCmdline({
          platform: 'metal',
          arch: 'amd64',
          version: '1.14.0',
          kind,
          secureBoot,
          meta,
        });
        assert.doesNotMatch(out, /talos\.environment/, `${kind} sb=${secureBoot}`);
      }
    }
  });

  it('keys are lowercase hex without padding, values joined by ";"', () => {
    const enc = encodeMetaValues(
      [
        { key: 0x0a, value: 'x' },
        { key: 255, value: 'a=b;' },
        { key: 6, value: '' },
      ],
      true,
    );
    assert.equal(Buffer.from(enc, 'base64').toString(), '0xa=x;0xff=a=b;;0x6=');
  });

  it('gzips only when > 256 bytes and the version is ≥ 1.6.3; decodes back to the same values', () => {
    const long = [{ key: 0xa, value: 'y'.repeat(300) }];
    const exactly256 = [{ key: 0xa, value: 'y'.repeat(256 - 4) }];
    const raw = (v: string): Buffer => Buffer.from(v, 'base64');
    assert.equal(raw(encodeMetaValues(exactly256, true)).length, 256);
    assert.equal(raw(encodeMetaValues(exactly256, true))[0], 0x30); // '0', not gzip
    assert.equal(raw(encodeMetaValues(long, false))[0], 0x30);
    const gz = raw(encodeMetaValues(long, true));
    assert.deepEqual([gz[0], gz[1]], [0x1f, 0x8b]);
    assert.deepEqual(decodeMetaValues(encodeMetaValues(long, true)), long);

    const env = (version: string): string => {
      const out = cmdline('metal', 'amd64', version, { meta: long });
      return out
        .slice(out.indexOf('INSTALLER_META_BASE64=') + 'INSTALLER_META_BASE64='.length)
        .split(' ')[0]!;
    };
    assert.equal(raw(env('1.6.2'))[0], 0x30);
    assert.equal(raw(env('1.6.3'))[0], 0x1f);
    assert.equal(raw(env('1.6.3-alpha.0'))[0], 0x1f); // quirks ignore the pre-release
  });
});
