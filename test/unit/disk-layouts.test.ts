/**
 * The disk-layout table, bootloader choice and size rules (talos-imager §6.2, errata §5), the
 * META ADV (§6.1 + errata E7), grub.cfg text (§6.1), GRUB boot-sector patches (§6.2 step 3),
 * ESP trees and loader.conf (§6.2 step 4), the FAT geometry rules (§4.3).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  adjustedDiskSizeMiB,
  bootloaderMetaValue,
  chooseBootloader,
  defaultDiskSizeMiB,
  diskLayout,
} from '../../src/builders/disk/layouts.js';
import { renderGrubCfg } from '../../src/builders/disk/grub-cfg.js';
import { grubQuote } from '../../src/builders/grub-quote.js';
import { renderLoaderConf, sdBootEspTree, grubEspTree } from '../../src/builders/disk/esp.js';
import {
  ADV_BYTES,
  ADV_COPY_BYTES,
  decodeTalosAdv,
  encodeTalosAdv,
} from '../../src/builders/formats/talos-adv.js';
import { patchBootImg, patchCoreImg } from '../../src/builders/formats/grub-boot-sector.js';
import {
  espFatBits,
  fat32ClusterSectors,
  isoEspImageBytes,
} from '../../src/builders/formats/fat32-geometry.js';
import { parseSeekOutput } from '../../src/builders/tools/xfs-io.js';
import { deriveQuirks } from '../../src/profile/quirks.js';
import { parseTalosVersion } from '../../src/profile/version.js';

const q = (v: string): ReturnType<typeof deriveQuirks> => deriveQuirks(parseTalosVersion(v));
const MIB = 1024 * 1024;

describe('layouts', () => {
  test('partitions per bootloader and version', () => {
    const labels = (bl: Parameters<typeof diskLayout>[0], v: string): string[] =>
      diskLayout(bl, q(v)).map((p) => `${p.label}:${p.sizeBytes / MIB}:${p.content}`);
    assert.deepEqual(labels('grub', 'v1.5.5'), [
      'EFI:100:esp',
      'BIOS:1:bios-core',
      'BOOT:1000:boot',
      'META:1:meta',
      'STATE:100:none',
      'EPHEMERAL:0:none',
    ]);
    assert.deepEqual(labels('grub', 'v1.8.3'), [
      'EFI:100:esp',
      'BIOS:1:bios-core',
      'BOOT:1000:boot',
      'META:1:meta',
    ]);
    assert.deepEqual(labels('grub', 'v1.11.0-beta.1'), [
      'EFI:100:esp',
      'BIOS:1:bios-core',
      'BOOT:2000:boot',
      'META:1:meta',
    ]);
    assert.deepEqual(labels('sd-boot', 'v1.10.6'), ['EFI:1101:esp', 'META:1:meta']);
    assert.deepEqual(labels('dual-boot', 'v1.11.0'), [
      'EFI:2101:esp',
      'BIOS:1:bios-core',
      'BOOT:2000:boot',
      'META:1:meta',
    ]);
    assert.equal(diskLayout('grub', q('v1.5.5'))[1]!.attributes, 4n);
  });

  test('default bootloader: SB → sd-boot; ≥ 1.10 → dual-boot (amd64) / sd-boot (arm64); else grub', () => {
    const pick = (v: string, arch: 'amd64' | 'arm64', secureBoot = false): string =>
      chooseBootloader({ arch, secureBoot, quirks: q(v) });
    assert.equal(pick('v1.5.5', 'amd64'), 'grub');
    assert.equal(pick('v1.8.3', 'arm64'), 'grub');
    assert.equal(pick('v1.9.9', 'amd64'), 'grub');
    assert.equal(pick('v1.10.0-rc.1', 'amd64'), 'dual-boot');
    assert.equal(pick('v1.10.6', 'arm64'), 'sd-boot');
    assert.equal(pick('v1.5.5', 'amd64', true), 'sd-boot');
  });

  test('a requested bootloader is honoured where it can work', () => {
    const quirks = q('v1.11.0');
    assert.equal(chooseBootloader({ requested: 'grub', arch: 'amd64', secureBoot: false, quirks }), 'grub');
    assert.equal(
      chooseBootloader({ requested: 'sd-boot', arch: 'amd64', secureBoot: false, quirks }),
      'sd-boot',
    );
    assert.throws(
      () => chooseBootloader({ requested: 'grub', arch: 'amd64', secureBoot: true, quirks }),
      (e: Error & { code?: string }) => e.code === 'PROFILE_INVALID' && /secure-boot/.test(e.message),
    );
    assert.throws(
      () => chooseBootloader({ requested: 'dual-boot', arch: 'arm64', secureBoot: false, quirks }),
      /only available for amd64/,
    );
    assert.throws(
      () => chooseBootloader({ requested: 'sd-boot', arch: 'amd64', secureBoot: false, quirks: q('v1.4.8') }),
      /needs a UKI/,
    );
  });

  test('disk size adjustments (§6.2 examples)', () => {
    assert.equal(adjustedDiskSizeMiB(1246, 'dual-boot', q('v1.11.0')), 4247);
    assert.equal(adjustedDiskSizeMiB(8192, 'dual-boot', q('v1.11.0')), 11193);
    assert.equal(adjustedDiskSizeMiB(1246, 'sd-boot', q('v1.11.0')), 2246);
    assert.equal(adjustedDiskSizeMiB(1246, 'grub', q('v1.5.5')), 1246);
    assert.equal(adjustedDiskSizeMiB(1246, 'dual-boot', q('v1.10.6')), 2247);
    assert.equal(defaultDiskSizeMiB('metal', 'dual-boot', q('v1.11.0')), 4247);
    assert.equal(defaultDiskSizeMiB('aws', 'dual-boot', q('v1.11.0')), 11193);
    assert.equal(defaultDiskSizeMiB('exoscale', 'grub', q('v1.8.3')), 10240);
    assert.equal(defaultDiskSizeMiB('equinixMetal', 'grub', q('v1.8.3')), 8192);
  });

  test('dual-boot META marker only for amd64 non-SB ≥ 1.10 dual-boot', () => {
    assert.equal(bootloaderMetaValue('dual-boot', 'amd64', false, q('v1.10.6')), 'dual-boot');
    assert.equal(bootloaderMetaValue('grub', 'amd64', false, q('v1.10.6')), undefined);
    assert.equal(bootloaderMetaValue('sd-boot', 'amd64', true, q('v1.10.6')), undefined);
  });
});

describe('Talos ADV (META)', () => {
  test('layout: magics, sorted records, checksum, two identical copies', () => {
    const adv = encodeTalosAdv([
      { tag: 0x11, value: 'dual-boot' },
      { tag: 0x0a, value: 'net' },
      { tag: 0x0a, value: 'replaced' },
    ]);
    assert.equal(adv.length, ADV_BYTES);
    const copy = adv.subarray(0, ADV_COPY_BYTES);
    assert.ok(copy.equals(adv.subarray(ADV_COPY_BYTES)));
    assert.equal(copy.readUInt32BE(0), 0x5a4b3c2d);
    assert.equal(copy.readUInt32BE(ADV_COPY_BYTES - 4), 0xa5b4c3d2);
    // Records sorted by tag (upstream: Go map order), later duplicates win.
    assert.equal(copy.readUInt32BE(4), 0x0a);
    assert.equal(copy.readUInt32BE(8), 8);
    assert.equal(copy.subarray(12, 20).toString(), 'replaced');
    assert.equal(copy.readUInt32BE(20), 0x11);
    const check = Buffer.from(copy);
    check.fill(0, ADV_COPY_BYTES - 36, ADV_COPY_BYTES - 4);
    assert.equal(
      copy.subarray(ADV_COPY_BYTES - 36, ADV_COPY_BYTES - 4).toString('hex'),
      createHash('sha256').update(check).digest('hex'),
    );
    assert.deepEqual(
      decodeTalosAdv(adv).records.map((r) => [r.tag, r.value.toString()]),
      [
        [0x0a, 'replaced'],
        [0x11, 'dual-boot'],
      ],
    );
  });

  test('a damaged first copy falls back to the second; both damaged is an error', () => {
    const adv = encodeTalosAdv([{ tag: 12, value: 'x' }]);
    adv[100] = 1;
    assert.equal(decodeTalosAdv(adv).copy, 1);
    adv[ADV_COPY_BYTES + 100] = 1;
    assert.throws(() => decodeTalosAdv(adv), /checksum mismatch/);
  });

  test('capacity is Talos’ rule', () => {
    assert.throws(() => encodeTalosAdv([{ tag: 1, value: Buffer.alloc(ADV_COPY_BYTES) }]), /META holds/);
    assert.doesNotThrow(() => encodeTalosAdv([{ tag: 1, value: Buffer.alloc(ADV_COPY_BYTES - 40 - 28) }]));
    assert.throws(() => encodeTalosAdv([{ tag: 256, value: 'x' }]), /tag 256/);
  });
});

describe('GRUB', () => {
  test('grub.cfg is Talos’ template (v1.5+: with the reset entry)', () => {
    const cfg = renderGrubCfg({
      version: 'v1.8.3',
      cmdline: 'talos.platform=metal console=ttyS0',
      resetEntry: true,
    });
    assert.equal(
      cfg,
      [
        'set default="A - Talos v1.8.3"',
        '',
        'set timeout=3',
        '',
        'insmod all_video',
        '',
        'terminal_input console',
        'terminal_output console',
        '',
        'menuentry "A - Talos v1.8.3" {',
        '  set gfxmode=auto',
        '  set gfxpayload=text',
        '  linux /A/vmlinuz talos.platform=metal console=ttyS0',
        '  initrd /A/initramfs.xz',
        '}',
        'menuentry "Reset Talos installation and return to maintenance mode" {',
        '  set gfxmode=auto',
        '  set gfxpayload=text',
        '  linux /A/vmlinuz talos.platform=metal console=ttyS0 talos.experimental.wipe=system:EPHEMERAL,STATE',
        '  initrd /A/initramfs.xz',
        '}',
        '',
      ].join('\n'),
    );
    // Without the reset entry: Talos' own test data (grub_write_test.cfg, label "Test" there).
    const talosTestData =
      'set default="A - Test v0.0.1"\n\nset timeout=3\n\ninsmod all_video\n\nterminal_input console\n' +
      'terminal_output console\n\nmenuentry "A - Test v0.0.1" {\n  set gfxmode=auto\n  set gfxpayload=text\n' +
      '  linux /A/vmlinuz cmdline A\n  initrd /A/initramfs.xz\n}\n';
    assert.equal(
      renderGrubCfg({ version: 'v0.0.1', cmdline: 'cmdline A', resetEntry: false }),
      talosTestData.replaceAll('A - Test', 'A - Talos'),
    );
  });

  test('cmdline quoting escapes \\ { } & $ | ; < > "', () => {
    assert.equal(
      grubQuote('a=$b "c" {d} e&f|g;h<i>j\\k'),
      'a=\\$b \\"c\\" \\{d\\} e\\&f\\|g\\;h\\<i\\>j\\\\k',
    );
  });

  test('boot.img and core.img patches', () => {
    const boot = Buffer.alloc(512, 0xcc);
    const mbr = patchBootImg(boot, 206848);
    assert.equal(mbr.length, 446);
    assert.equal(mbr.readBigUInt64LE(0x5c), 206848n);
    assert.deepEqual([mbr[0x66], mbr[0x67]], [0x90, 0x90]);
    assert.equal(mbr[0x65], 0xcc);
    const core = patchCoreImg(Buffer.alloc(4096, 0xcc), 206848);
    assert.equal(core.readBigUInt64LE(0x1f4), 206849n);
    assert.equal(core.length, 4096);
    assert.throws(() => patchBootImg(Buffer.alloc(100), 1), /512/);
  });
});

describe('ESP trees', () => {
  test('systemd-boot ESP and loader.conf', () => {
    assert.equal(renderLoaderConf(), '# systemd-boot configuration\n\ntimeout 10\n');
    assert.equal(
      renderLoaderConf('if-safe'),
      '# systemd-boot configuration\n\ntimeout 10\n\nsecure-boot-enroll if-safe\n',
    );
    assert.deepEqual(
      sdBootEspTree({ arch: 'arm64', version: 'v1.10.6', uki: '/u', sdBoot: '/s' }).map((f) => f.path),
      ['loader/loader.conf', 'EFI/Linux/Talos-v1.10.6.efi', 'EFI/boot/BOOTAA64.efi'],
    );
    assert.deepEqual(
      sdBootEspTree({
        arch: 'amd64',
        version: 'v1.10.6',
        uki: '/u',
        sdBoot: '/s',
        enroll: { mode: 'force', pk: '/pk', kek: '/kek', db: '/db' },
      }).map((f) => f.path),
      [
        'loader/loader.conf',
        'EFI/Linux/Talos-v1.10.6.efi',
        'EFI/boot/BOOTX64.efi',
        'loader/keys/auto/PK.auth',
        'loader/keys/auto/KEK.auth',
        'loader/keys/auto/db.auth',
      ],
    );
    assert.deepEqual(
      grubEspTree('amd64', '/g').map((f) => f.path),
      ['EFI/boot/BOOTX64.efi'],
    );
  });

  test('FAT geometry (§4.3) and the FAT16 exception for small 4K ESPs', () => {
    assert.equal(isoEspImageBytes(140_891, 30 * MIB + 1), (10 + 1 + 31) * MIB);
    // Largest of 8/4/2/1 sectors per cluster keeping ≥ 65525 + 2048 clusters.
    assert.equal(fat32ClusterSectors(100 * MIB, 512), 2);
    assert.equal(fat32ClusterSectors(50 * MIB, 512), 1);
    assert.equal(fat32ClusterSectors(2101 * MIB, 512), 8);
    assert.equal(fat32ClusterSectors(200 * MIB, 512), 4);
    assert.equal(espFatBits(100 * MIB, 512), 32);
    assert.equal(espFatBits(100 * MIB, 4096), 16);
    assert.equal(espFatBits(2101 * MIB, 4096), 32);
  });

  test('xfs_io seek output → data extents', () => {
    const text =
      'Whence\tResult\nDATA\t0\nHOLE\t131072\nDATA\t262144000\nHOLE\t262184960\nDATA\t1048444928\nHOLE\t1048576000\n';
    assert.deepEqual(parseSeekOutput(text, 1048576000), [
      { start: 0, end: 131072 },
      { start: 262144000, end: 262184960 },
      { start: 1048444928, end: 1048576000 },
    ]);
    assert.deepEqual(parseSeekOutput('Whence\tResult\nDATA\tEOF\n', 10), []);
    assert.deepEqual(parseSeekOutput('Whence\tResult\nDATA\t0\n', 10), [{ start: 0, end: 10 }]);
  });
});
