/**
 * Proof by boot of GRUB disk images built from a fixture release's kernel + base initramfs
 * (QEMU TCG, each boot bounded): metal raw under SeaBIOS (GRUB BIOS: patched boot.img + core.img)
 * and under OVMF (GRUB EFI) for an xz-era (v1.5.5) and a zstd-era (v1.8.3) release; qcow2 on a
 * virtio disk under OVMF; a 4K-sector image under OVMF; GCP's `.tar.gz` holds exactly a sparse
 * `disk.raw` that boots; the fixed VHD reports its size and boots converted back; the OVA's
 * member order, OVF sizes and manifest hashes check out; an arm64 GRUB image (GRUB modules from
 * Debian's `grub-efi-arm64-bin:arm64`, fetched with apt-get download + dpkg -x) boots under AAVMF;
 * the v1.10 dual-boot image boots GRUB under SeaBIOS and systemd-boot + UKI under OVMF (the UKI is
 * made here with objcopy from the fixture's stub; the factory's own UKI builder lives elsewhere).
 * The fixture init reports the cmdline GRUB passed (grub.cfg's, after GRUB's own `BOOT_IMAGE=`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildRawDiskImage, type RawDiskResult } from '../../src/builders/disk/build-raw.js';
import { finishDiskImage } from '../../src/builders/disk/output.js';
import { parseGpt } from '../../src/builders/formats/gpt.js';
import { decodeTalosAdv } from '../../src/builders/formats/talos-adv.js';
import { parseVhdFooter } from '../../src/builders/formats/vhd-footer.js';
import { buildCmdline } from '../../src/profile/cmdline.js';
import type { FixtureManifest } from '../fixtures/manifest.js';
import { DEFAULT_DEB_CACHE } from '../fixtures/build.js';
import { DebianPackages } from '../helpers/debian.js';
import { fixtureReleases } from '../helpers/fixture-factory.js';
import { bootDisk, type DiskBoot } from '../helpers/qemu.js';
import { parseReport, type BootReport } from '../helpers/report.js';

const exec = promisify(execFile);
const BOOT_TIMEOUT_MS = 240_000;
const EPOCH = 1_700_000_000;

let fx: FixtureManifest;
let scratch: string;

before(async () => {
  fx = await fixtureReleases();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'disk-boot-'));
});
after(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

interface Built extends RawDiskResult {
  cmdline: string;
}

async function build(tag: string, name: string, sectorSize: 512 | 4096 = 512): Promise<Built> {
  const v = fx.versions.find((x) => x.spec.tag === tag);
  assert.ok(v?.artifacts.amd64, `fixture ${tag} amd64`);
  // The factory's own metal cmdline; the fixture init reports on ttyS0 whatever console= says.
  const cmdline = `${buildCmdline({ platform: 'metal', arch: 'amd64', version: tag, kind: 'image', secureBoot: false })} if.disk=${name}`;
  const dir = path.join(scratch, name);
  await mkdir(dir);
  const raw = await buildRawDiskImage({
    version: tag,
    arch: 'amd64',
    secureBoot: false,
    bootloader: 'grub',
    diskSizeMiB: 1246,
    sectorSize,
    cmdline,
    kernel: path.join(fx.root, v.artifacts.amd64.vmlinuz),
    initramfs: path.join(fx.root, v.artifacts.amd64.initramfs),
    meta: [{ key: 0x0a, value: `{"disk":"${name}"}` }],
    sourceDateEpoch: EPOCH,
    workDir: path.join(dir, 'work'),
    output: path.join(dir, 'disk.raw'),
  });
  await rm(path.join(dir, 'work'), { recursive: true, force: true });
  return { ...raw, cmdline };
}

async function boot(o: Omit<DiskBoot, 'timeoutMs'>, b: Built): Promise<BootReport> {
  const res = await bootDisk({ timeoutMs: BOOT_TIMEOUT_MS, ...o });
  assert.ok(res.poweredOff, `${o.name}: fixture init powered off (log ${res.logFile})`);
  const r = parseReport(res.serial);
  assert.equal(r.cmdline, `BOOT_IMAGE=/A/vmlinuz ${b.cmdline}`, `${o.name}: cmdline from grub.cfg`);
  assert.equal(r.rootfs, 'ok');
  assert.deepEqual(r.errors, []);
  return r;
}

async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex');
}

async function readAt(file: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(length);
    await fh.read(b, 0, length, offset);
    return b;
  } finally {
    await fh.close();
  }
}

describe('GRUB disk images boot', { timeout: 1_800_000 }, () => {
  test('v1.5.5 (xz era) metal raw: SeaBIOS and OVMF; table and META as written', async () => {
    const b = await build('v1.5.5', 'v155');
    const fh = await open(b.path, 'r');
    try {
      const gpt = await parseGpt(
        async (o, l) => {
          const x = Buffer.alloc(l);
          await fh.read(x, 0, l, o);
          return x;
        },
        b.diskBytes,
        512,
      );
      assert.deepEqual(
        gpt.partitions.map((p) => p.label),
        ['EFI', 'BIOS', 'BOOT', 'META', 'STATE', 'EPHEMERAL'],
      );
    } finally {
      await fh.close();
    }
    const meta = b.table.partitions.find((p) => p.label === 'META')!;
    const adv = decodeTalosAdv(await readAt(b.path, meta.firstLBA * 512, 512 * 1024));
    assert.deepEqual(
      adv.records.map((r) => [r.tag, r.value.toString()]),
      [[0x0a, '{"disk":"v155"}']],
    );
    await boot({ disk: b.path, firmware: 'bios', name: 'disk-v155-bios' }, b);
    await boot({ disk: b.path, firmware: 'uefi', name: 'disk-v155-uefi' }, b);
  });

  test('v1.8.3 (zstd era): qcow2 on virtio under OVMF; GCP tar.gz holds one sparse disk.raw that boots (SeaBIOS)', async () => {
    const b = await build('v1.8.3', 'v183');
    const dir = path.dirname(b.path);
    const qcow2 = path.join(dir, 'disk.qcow2');
    const copy = path.join(dir, 'copy.raw');
    await exec('cp', ['--sparse=always', b.path, copy]);
    await finishDiskImage({
      raw: copy,
      format: 'qcow2',
      formatOptions: 'cluster_size=8k',
      compression: 'none',
      output: qcow2,
      workDir: path.join(dir, 'q'),
      sourceDateEpoch: EPOCH,
    });
    const { stdout } = await exec('qemu-img', ['info', '--output=json', qcow2]);
    const info = JSON.parse(stdout) as { format: string; 'virtual-size': number; 'cluster-size': number };
    assert.deepEqual([info.format, info['virtual-size'], info['cluster-size']], ['qcow2', b.diskBytes, 8192]);
    await boot(
      { disk: qcow2, format: 'qcow2', bus: 'virtio', firmware: 'uefi', name: 'disk-v183-qcow2-uefi' },
      b,
    );

    const tgz = path.join(dir, 'gcp.raw.tar.gz');
    await finishDiskImage({
      raw: b.path,
      format: 'raw',
      formatOptions: '',
      compression: 'tar.gz',
      output: tgz,
      workDir: path.join(dir, 't'),
      sourceDateEpoch: EPOCH,
    });
    const { stdout: list } = await exec('tar', ['-tvzf', tgz]);
    assert.deepEqual(
      list
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/).slice(-1)[0]),
      ['disk.raw'],
    );
    const { stdout: head } = await exec('sh', [
      '-c',
      `gzip -dc '${tgz}' | head -c 512 | od -An -c -j156 -N1`,
    ]);
    assert.equal(head.trim(), 'S', 'GNU sparse member');
    const { stdout: inner } = await exec('sh', ['-c', `gzip -dc '${tgz}' | wc -c`]);
    assert.ok(Number(inner) < 64 * 1024 * 1024, `tar stream ${inner} bytes for a ${b.diskBytes}-byte disk`);
    const out = path.join(dir, 'gcp');
    await mkdir(out);
    await exec('tar', ['-xzSf', tgz, '-C', out]);
    const extracted = path.join(out, 'disk.raw');
    assert.equal(await sha256File(extracted), await sha256File(b.path));
    await boot({ disk: extracted, firmware: 'bios', name: 'disk-v183-gcp-bios' }, b);
  });

  test('v1.8.3 with 4096-byte sectors boots under OVMF (logical_block_size=4096)', async () => {
    const b = await build('v1.8.3', 'v183-4k', 4096);
    assert.equal(b.table.sectorSize, 4096);
    await boot({ disk: b.path, firmware: 'uefi', blockSize: 4096, name: 'disk-v183-4k-uefi' }, b);
  });

  test('vhd: fixed, right size, stable footer; converted back to raw it boots (SeaBIOS)', async () => {
    const b = await build('v1.8.3', 'vhd');
    const dir = path.dirname(b.path);
    const vhd = path.join(dir, 'disk.vhd');
    const copy = path.join(dir, 'copy.raw');
    await exec('cp', ['--sparse=always', b.path, copy]);
    await finishDiskImage({
      raw: copy,
      format: 'vhd',
      formatOptions: 'subformat=fixed,force_size',
      compression: 'none',
      output: vhd,
      workDir: path.join(dir, 'v'),
      sourceDateEpoch: EPOCH,
      uniqueIdSeed: 'test',
    });
    const { stdout } = await exec('qemu-img', ['info', '--output=json', '-f', 'vpc', vhd]);
    const info = JSON.parse(stdout) as { format: string; 'virtual-size': number };
    assert.deepEqual([info.format, info['virtual-size']], ['vpc', b.diskBytes]);
    assert.equal((await stat(vhd)).size, b.diskBytes + 512, 'fixed VHD = raw data + 512-byte footer');
    const footer = parseVhdFooter(await readAt(vhd, b.diskBytes, 512));
    assert.equal(footer.diskType, 2, 'fixed');
    assert.equal(footer.currentSize, b.diskBytes);
    assert.equal(footer.timestamp, EPOCH - 946684800);
    assert.ok(footer.checksumValid);
    const back = path.join(dir, 'back.raw');
    await exec('qemu-img', ['convert', '-f', 'vpc', '-O', 'raw', vhd, back]);
    assert.equal(await sha256File(back), await sha256File(b.path));
    await boot({ disk: back, firmware: 'bios', name: 'disk-vhd-back-bios' }, b);
  });

  test('ova: ovf, mf, vmdk in that order; OVF sizes; manifest hashes verify', async () => {
    const b = await build('v1.8.3', 'ova');
    const dir = path.dirname(b.path);
    const ova = path.join(dir, 'disk.ova');
    await finishDiskImage({
      raw: b.path,
      format: 'ova',
      formatOptions: '',
      compression: 'none',
      output: ova,
      workDir: path.join(dir, 'o'),
      sourceDateEpoch: EPOCH,
    });
    const { stdout: list } = await exec('tar', ['-tvf', ova]);
    const rows = list
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/));
    assert.deepEqual(
      rows.map((r) => r.at(-1)),
      ['disk.ovf', 'disk.mf', 'disk.vmdk'],
    );
    assert.ok(rows.every((r) => r[1] === '0/0'));
    const x = path.join(dir, 'ova-x');
    await mkdir(x);
    await exec('tar', ['-xf', ova, '-C', x]);
    const ovf = await readFile(path.join(x, 'disk.ovf'), 'utf8');
    const vmdkBytes = (await stat(path.join(x, 'disk.vmdk'))).size;
    assert.match(ovf, new RegExp(`<File ovf:href="disk.vmdk" ovf:id="file1" ovf:size="${vmdkBytes}"/>`));
    assert.match(
      ovf,
      new RegExp(`ovf:capacity="${b.diskBytes / 1024 / 1024}" ovf:capacityAllocationUnits="byte \\* 2\\^20"`),
    );
    assert.match(ovf, /vmx-15/);
    assert.match(ovf, /vmw:key="disk.EnableUUID" vmw:value="true"/);
    const mf = await readFile(path.join(x, 'disk.mf'), 'utf8');
    assert.equal(
      mf,
      `SHA256(disk.vmdk)= ${await sha256File(path.join(x, 'disk.vmdk'))}\nSHA256(disk.ovf)= ${await sha256File(path.join(x, 'disk.ovf'))}\n`,
    );
    const { stdout } = await exec('qemu-img', ['info', '--output=json', path.join(x, 'disk.vmdk')]);
    const info = JSON.parse(stdout) as {
      format: string;
      'virtual-size': number;
      'format-specific': { data: { 'create-type': string } };
    };
    assert.deepEqual(
      [info.format, info['virtual-size'], info['format-specific'].data['create-type']],
      ['vmdk', b.diskBytes, 'streamOptimized'],
    );
    const back = path.join(dir, 'vmdk-back.raw');
    await exec('qemu-img', ['convert', '-O', 'raw', path.join(x, 'disk.vmdk'), back]);
    assert.equal(await sha256File(back), await sha256File(b.path));
  });

  test('arm64 v1.8.3 GRUB image (arm64-efi modules from Debian) boots on qemu virt + AAVMF', async () => {
    const v = fx.versions.find((x) => x.spec.tag === 'v1.8.3')!.artifacts.arm64;
    assert.ok(v, 'fixture v1.8.3 arm64');
    const grub = await new DebianPackages({ cacheDir: DEFAULT_DEB_CACHE }).grubArm64Efi();
    const cmdline = `${buildCmdline({ platform: 'metal', arch: 'arm64', version: 'v1.8.3', kind: 'image', secureBoot: false })} if.disk=arm64`;
    const dir = path.join(scratch, 'arm64');
    await mkdir(dir);
    const raw = await buildRawDiskImage({
      version: 'v1.8.3',
      arch: 'arm64',
      secureBoot: false,
      diskSizeMiB: 1246,
      cmdline,
      kernel: path.join(fx.root, v.vmlinuz),
      initramfs: path.join(fx.root, v.initramfs),
      grubDirs: { arm64Efi: grub.dir },
      sourceDateEpoch: EPOCH,
      workDir: path.join(dir, 'work'),
      output: path.join(dir, 'disk.raw'),
    });
    assert.equal(raw.bootloader, 'grub');
    // No BIOS boot code on arm64: the MBR boot-code area stays zero.
    assert.ok((await readAt(raw.path, 0, 446)).every((b) => b === 0));
    await boot(
      { disk: raw.path, arch: 'arm64', firmware: 'uefi', name: 'disk-v183-arm64-uefi' },
      { ...raw, cmdline },
    );
  });

  test('v1.10.6 dual-boot: GRUB under SeaBIOS, systemd-boot + UKI under OVMF; META marks dual-boot', async () => {
    const v = fx.versions.find((x) => x.spec.tag === 'v1.10.6')!.artifacts.amd64;
    assert.ok(v, 'fixture v1.10.6 amd64');
    const dir = path.join(scratch, 'dual');
    await mkdir(dir);
    const cmdline = `${buildCmdline({ platform: 'metal', arch: 'amd64', version: 'v1.10.6', kind: 'image', secureBoot: false })} if.disk=dual`;
    const ukiCmdline = `${cmdline} if.via=uki`;
    const uki = path.join(dir, 'uki.efi');
    await writeFile(path.join(dir, 'cmdline'), ukiCmdline);
    await writeFile(path.join(dir, 'osrel'), 'NAME=Talos\nID=talos\nVERSION_ID=v1.10.6\n');
    await exec('objcopy', [
      '--add-section',
      `.osrel=${path.join(dir, 'osrel')}`,
      '--change-section-vma',
      '.osrel=0x20000',
      '--add-section',
      `.cmdline=${path.join(dir, 'cmdline')}`,
      '--change-section-vma',
      '.cmdline=0x30000',
      '--add-section',
      `.linux=${path.join(fx.root, v.vmlinuz)}`,
      '--change-section-vma',
      '.linux=0x2000000',
      '--add-section',
      `.initrd=${path.join(fx.root, v.initramfs)}`,
      '--change-section-vma',
      '.initrd=0x3000000',
      path.join(fx.root, v.systemdStub),
      uki,
    ]);
    const raw = await buildRawDiskImage({
      version: 'v1.10.6',
      arch: 'amd64',
      secureBoot: false,
      diskSizeMiB: 2247,
      cmdline,
      kernel: path.join(fx.root, v.vmlinuz),
      initramfs: path.join(fx.root, v.initramfs),
      uki,
      sdBoot: path.join(fx.root, v.systemdBoot),
      sourceDateEpoch: EPOCH,
      workDir: path.join(dir, 'work'),
      output: path.join(dir, 'disk.raw'),
    });
    assert.equal(raw.bootloader, 'dual-boot');
    assert.deepEqual(
      raw.table.partitions.map((p) => [p.label, (p.lastLBA - p.firstLBA + 1) / 2048]),
      [
        ['EFI', 1101],
        ['BIOS', 1],
        ['BOOT', 1000],
        ['META', 1],
      ],
    );
    const meta = raw.table.partitions.find((p) => p.label === 'META')!;
    assert.deepEqual(
      decodeTalosAdv(await readAt(raw.path, meta.firstLBA * 512, 512 * 1024)).records.map((r) => [
        r.tag,
        r.value.toString(),
      ]),
      [[0x11, 'dual-boot']],
    );
    await boot({ disk: raw.path, firmware: 'bios', name: 'disk-dual-bios' }, { ...raw, cmdline });
    const res = await bootDisk({
      disk: raw.path,
      firmware: 'uefi',
      timeoutMs: BOOT_TIMEOUT_MS,
      name: 'disk-dual-uefi',
    });
    assert.ok(res.poweredOff, `dual-boot UEFI powered off (log ${res.logFile})`);
    assert.equal(parseReport(res.serial).cmdline, ukiCmdline, 'systemd-boot started the UKI (its .cmdline)');
  });
});
