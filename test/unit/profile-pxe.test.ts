import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFactoryError } from '../../src/errors.js';
import { buildCmdline } from '../../src/profile/cmdline.js';
import { parsePxePath, renderPxeScript } from '../../src/profile/pxe.js';
import { joinUrlPath } from '../../src/profile/url-join.js';

const ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const PXE = 'http://127.0.0.1:8080';
const CMDLINE_150 =
  'talos.platform=metal console=ttyS0 console=tty0 init_on_alloc=1 slab_nomerge pti=on consoleblank=0 nvme_core.io_timeout=4294967295 printk.devkmsg=on ima_template=ima-ng ima_appraise=fix ima_hash=sha512';

function script(path: string, options: { uefiInitrdArg?: boolean; baseUrl?: string } = {}): string {
  const request = parsePxePath(path);
  const cmdline = buildCmdline({ ...request, version: 'v1.5.0' });
  return renderPxeScript({
    baseUrl: options.baseUrl ?? PXE,
    schematicId: ID,
    versionTag: 'v1.5.0',
    request,
    cmdline,
    uefiInitrdArg: options.uefiInitrdArg,
  });
}

describe('renderPxeScript', () => {
  it('matches the upstream integration-test script (v1.5.0, empty schematic)', () => {
    assert.equal(
      script('metal-amd64'),
      `#!ipxe\n\nimgfree\nkernel ${PXE}/image/${ID}/v1.5.0/kernel-amd64 ${CMDLINE_150}\ninitrd ${PXE}/image/${ID}/v1.5.0/initramfs-amd64.xz\nboot\n`,
    );
  });

  it('iPXE ${buildarch} names work: metal-x86_64 renders the amd64 script', () => {
    assert.equal(script('metal-x86_64'), script('metal-amd64'));
    assert.equal(script('metal-i386'), script('metal-amd64'));
  });

  it('secure boot boots the UKI with the cmdline (ends with lockdown=confidentiality)', () => {
    assert.equal(
      script('metal-amd64-secureboot'),
      `#!ipxe\n\nimgfree\nkernel ${PXE}/image/${ID}/v1.5.0/metal-amd64-secureboot-uki.efi ${CMDLINE_150} lockdown=confidentiality\nboot\n`,
    );
  });

  it('uefiInitrdArg adds initrd=<name> before the Talos args; off by default', () => {
    assert.equal(script('metal-amd64', { uefiInitrdArg: false }), script('metal-amd64'));
    assert.equal(
      script('metal-arm64', { uefiInitrdArg: true }).split('\n')[3],
      `kernel ${PXE}/image/${ID}/v1.5.0/kernel-arm64 initrd=initramfs-arm64.xz talos.platform=metal console=ttyAMA0 console=tty0 init_on_alloc=1 slab_nomerge pti=on consoleblank=0 nvme_core.io_timeout=4294967295 printk.devkmsg=on ima_template=ima-ng ima_appraise=fix ima_hash=sha512`,
    );
    // The UKI embeds its initrd: the option changes nothing for secure boot.
    assert.equal(script('metal-amd64-secureboot', { uefiInitrdArg: true }), script('metal-amd64-secureboot'));
  });

  it('keeps a base path prefix and collapses duplicate slashes', () => {
    const line = script('metal-amd64', { baseUrl: 'https://pxe.example.com//factory/' }).split('\n')[4];
    assert.equal(line, `initrd https://pxe.example.com/factory/image/${ID}/v1.5.0/initramfs-amd64.xz`);
  });

  it('PXE path errors are path errors', () => {
    assert.throws(
      () => parsePxePath('metal'),
      (e: unknown) =>
        isFactoryError(e, 'PATH_INVALID') &&
        e.message === 'error parsing profile from path: invalid platform-arch: "metal"',
    );
  });
});

describe('joinUrlPath (Go url.JoinPath)', () => {
  const cases: [string, string[], string][] = [
    ['http://h', ['image', 'a', 'v1.5.0+b', 'kernel-amd64'], 'http://h/image/a/v1.5.0+b/kernel-amd64'],
    ['http://h/', ['image', 'x'], 'http://h/image/x'],
    ['http://h/prefix', ['image', 'x'], 'http://h/prefix/image/x'],
    ['http://h/prefix/', ['image', 'x'], 'http://h/prefix/image/x'],
    ['http://h//a//', ['b//c', 'd'], 'http://h/a/b/c/d'],
    ['http://h/p', ['a', '../b', './c'], 'http://h/p/b/c'],
    ['http://h/p', ['x/'], 'http://h/p/x/'],
    ['https://u:p@h:8443/x/?q=1#f', ['image'], 'https://u:p@h:8443/x/image?q=1#f'],
    ['http://h/p', [], 'http://h/p'],
  ];
  for (const [base, elems, expected] of cases) {
    it(`${base} + ${JSON.stringify(elems)}`, () => assert.equal(joinUrlPath(base, ...elems), expected));
  }
});
