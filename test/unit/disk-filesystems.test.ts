/**
 * File-system images from trees with the real tools: XFS BOOT (protofile, feature sets per
 * version, UUID, label, fixed inode times checked by xfs_db and a clean `xfs_repair -n`, read back
 * by GRUB's own XFS driver through `grub-fstest`), the FAT ESP (mcopy listing, FAT16 for small 4K
 * ESPs), and reproducibility of both across a second build made later.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { buildBootImage, buildEspImage } from '../../src/builders/disk/filesystems.js';
import type { FileTree } from '../../src/builders/disk/tree.js';
import { writeXfsProtofile } from '../../src/builders/disk/xfs-protofile.js';
import { labelGuid } from '../../src/builders/formats/guid.js';

const exec = promisify(execFile);
const MIB = 1024 * 1024;
const EPOCH = 1_700_000_000;
let dir: string;
let kernel: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'disk-fs-'));
  kernel = path.join(dir, 'vmlinuz');
  await writeFile(kernel, createHash('sha256').update('k').digest().toString('hex').repeat(5000));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bootTree = (): FileTree => [
  { path: 'grub/grub.cfg', source: { data: 'set timeout=3\n' } },
  { path: 'A/vmlinuz', source: { path: kernel } },
  { path: 'A/initramfs.xz', source: { data: Buffer.alloc(3000, 7) } },
];

async function sha(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

async function boot(name: string, xfsConfig: string, sectorSize = 512): Promise<string> {
  const file = path.join(dir, `${name}.img`);
  await buildBootImage({
    file,
    sizeBytes: 1000 * MIB,
    sectorSize,
    tree: bootTree(),
    epoch: EPOCH,
    workDir: path.join(dir, `${name}-work`),
    step: 'test',
    xfsConfig,
    uuid: labelGuid('BOOT'),
  });
  return file;
}

describe('XFS BOOT', () => {
  test('protofile: sorted, uid/gid 0, directories closed with $', async () => {
    const work = await mkdtemp(path.join(dir, 'proto-'));
    const { text } = await writeXfsProtofile(bootTree(), work, 'test');
    const lines = text.split('\n');
    assert.deepEqual(lines.slice(0, 4), ['/talos-image', '0 0', 'd--755 0 0', 'A d--755 0 0']);
    assert.match(lines[4]!, /^initramfs\.xz ---644 0 0 \/.*proto-data-1$/);
    assert.equal(lines[5], `vmlinuz ---644 0 0 ${kernel}`);
    assert.deepEqual(lines.slice(6, 8), ['$', 'grub d--755 0 0']);
    assert.deepEqual(lines.slice(9), ['$', '$', '']);
    await assert.rejects(
      writeXfsProtofile([{ path: 'bad name', source: { data: '' } }], work, 'test'),
      /name "bad name" cannot go into an XFS protofile/,
    );
  });

  test('features per version, UUID, label, fixed times, clean repair, GRUB reads it', async () => {
    for (const [cfg, rmap] of [
      ['lts_6.1.conf', false],
      ['lts_6.6.conf', true],
      ['lts_6.18.conf', true],
    ] as const) {
      const file = await boot(cfg, cfg);
      const { stdout: sb } = await exec('xfs_db', [
        '-r',
        '-c',
        'sb 0',
        '-c',
        'p uuid fname',
        '-c',
        'version',
        file,
      ]);
      assert.match(sb, new RegExp(`uuid = ${labelGuid('BOOT')}`));
      assert.match(sb, /fname = "BOOT\\000\\000\\000\\000\\000\\000\\000\\000"/);
      assert.match(sb, /BIGTIME/);
      assert.equal(/RMAPBT/.test(sb), rmap, `${cfg}: ${sb}`);
      const { stdout: ino } = await exec('xfs_db', [
        '-r',
        '-c',
        'sb 0',
        '-c',
        'inode 128',
        '-c',
        'p core.mtime.sec core.ctime.sec core.atime.sec v3.crtime.sec core.uid core.gid',
        file,
      ]);
      assert.equal((ino.match(/Tue Nov 14 22:13:20 2023/g) ?? []).length, 4, ino);
      assert.match(ino, /core\.uid = 0\ncore\.gid = 0/);
      await exec('xfs_repair', ['-n', '-f', file]);
      const { stdout: cfgText } = await exec('grub-fstest', [file, 'cat', '/grub/grub.cfg']);
      assert.equal(cfgText, 'set timeout=3\n');
      await exec('grub-fstest', [file, 'cmp', '/A/vmlinuz', kernel]);
    }
  });

  test('a later second build gives the same bytes; a broken time fix would show in xfs_repair', async () => {
    const a = await boot('repro-a', 'lts_6.6.conf');
    await sleep(1100);
    const b = await boot('repro-b', 'lts_6.6.conf');
    assert.equal(await sha(a), await sha(b));
    const c = await boot('4k', 'lts_6.6.conf', 4096);
    const { stdout } = await exec('xfs_db', ['-r', '-c', 'sb 0', '-c', 'p sectsize', c]);
    assert.match(stdout, /sectsize = 4096/);
    await exec('xfs_repair', ['-n', '-f', c]);
  });
});

describe('FAT ESP', () => {
  const espTree = (): FileTree => [
    { path: 'EFI/boot/BOOTX64.efi', source: { path: kernel } },
    { path: 'EFI/Linux/Talos-v1.10.6.efi', source: { data: 'uki' } },
    { path: 'loader/loader.conf', source: { data: '# systemd-boot configuration\n' } },
  ];
  const esp = async (name: string, sizeBytes: number, sectorSize: number): Promise<string> => {
    const file = path.join(dir, `${name}.img`);
    await buildEspImage({
      file,
      sizeBytes,
      sectorSize,
      tree: espTree(),
      epoch: EPOCH,
      workDir: path.join(dir, `${name}-work`),
      step: 'test',
    });
    return file;
  };

  test('FAT32 with the files, fixed times, reproducible', async () => {
    const a = await esp('esp-a', 100 * MIB, 512);
    await sleep(1100);
    const b = await esp('esp-b', 100 * MIB, 512);
    assert.equal(await sha(a), await sha(b));
    const env = { ...process.env, TZ: 'UTC', MTOOLS_SKIP_CHECK: '1' };
    const { stdout } = await exec('mdir', ['-/', '-i', a, '::'], { env });
    assert.match(stdout, /Volume in drive : is EFI/);
    assert.match(stdout, /Talos-v1\.10\.6\.efi/);
    assert.match(stdout, /BOOTX64\s+efi\s+\d[\d ]* 2023-11-14\s+22:13/);
    const { stdout: fsck } = await exec('fsck.vfat', ['-n', a]);
    assert.match(fsck, /8 files/, '3 files and 5 directories');
    const bs = (await readFile(a)).subarray(0, 512);
    assert.equal(bs.readUInt16LE(22), 0, 'FAT32 keeps its FAT size in the 32-bit field');
    assert.equal(bs.subarray(82, 90).toString('latin1'), 'FAT32   ');
  });

  test('a 100 MiB ESP with 4096-byte sectors is FAT16 (a FAT32 would have < 65525 clusters)', async () => {
    const f = await esp('esp-4k', 100 * MIB, 4096);
    const boot = (await readFile(f)).subarray(0, 512);
    assert.equal(boot.readUInt16LE(11), 4096);
    assert.notEqual(boot.readUInt16LE(22), 0, 'FAT16 keeps its FAT size in the 16-bit field');
    assert.equal(boot.subarray(54, 62).toString('latin1'), 'FAT16   ');
    const { stdout } = await exec('mdir', ['-/', '-i', f, '::/EFI/Linux'], {
      env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
    });
    assert.match(stdout, /Talos-v1\.10\.6\.efi/);
  });
});
