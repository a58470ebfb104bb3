/**
 * Proof by boot of disk images downloaded from the factory's HTTP API (QEMU TCG, each boot
 * bounded), with the partition table read by util-linux `sfdisk --json` and the META partition by
 * the project's ADV decoder (the fixture init never reads the disk):
 *
 * - `metal-amd64.raw.xz` v1.5.5 (GRUB, with STATE/EPHEMERAL) under SeaBIOS and OVMF;
 * - `metal-amd64.raw.xz` v1.10.6 (default dual-boot: GRUB for BIOS, systemd-boot + UKI for UEFI)
 *   under SeaBIOS and OVMF;
 * - `metal-amd64.qcow2` v1.8.3 (zstd era, GRUB, no data partitions) on virtio under OVMF;
 * - `metal-amd64.raw` v1.10.6 of a schematic with `diskImage.sectorSize: 4096` under OVMF with a
 *   4096-byte logical block size;
 * - `metal-arm64.raw.xz` v1.10.6 (systemd-boot) on `qemu-system-aarch64 -M virt` + AAVMF;
 * - `gcp-amd64.raw.tar.gz` (exactly one sparse `disk.raw`, which boots), `azure-amd64.vhd`
 *   (`qemu-img info -f vpc`: fixed, the platform's size), `vmware-amd64.ova` (ovf, mf, vmdk in
 *   that order; the manifest's SHA256 lines verify), all v1.5.5.
 *
 * The secure-boot image is proven in secureboot-media.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { parseVhdFooter, VHD_FOOTER_BYTES } from '../../src/builders/formats/vhd-footer.js';
import type { FixtureManifest } from '../fixtures/manifest.js';
import { partitionMiB, readMetaValues, sfdiskJson } from '../helpers/disk-inspect.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';
import { bootDisk, type DiskBoot } from '../helpers/qemu.js';
import { parseReport, type BootReport } from '../helpers/report.js';
import { assertSchematicReport } from '../helpers/schematic-report.js';
import { decompressSparse, downloadSparse } from '../helpers/sparse-file.js';

const exec = promisify(execFile);
const EXTENSIONS = ['siderolabs/vfat-module'];
const META_VALUE = '{"externalIPs":["10.0.0.7"]}';
const CUSTOMIZATION = `  extraKernelArgs: [if.test=disk]
  meta:
    - key: 0xa
      value: '${META_VALUE}'
  systemExtensions:
    officialExtensions: [${EXTENSIONS.join(', ')}]
`;
const SCHEMATIC = `customization:\n${CUSTOMIZATION}`;
const SCHEMATIC_4K = `customization:\n${CUSTOMIZATION}  diskImage:\n    sectorSize: 4096\n`;
const BOOT_TIMEOUT_MS = 300_000;
const MIB = 1024 * 1024;

async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex');
}

describe('disk images from the factory boot', { timeout: 3_000_000 }, () => {
  let t: TestFactory;
  let fx: FixtureManifest;
  let url: string;
  let work: string;
  let id: string;
  let id4k: string;

  before(async () => {
    ({ t, fixtures: fx } = await makeFixtureFactory());
    ({ url } = await t.factory.listen());
    work = await mkdtemp(join(tmpdir(), 'if-disk-media-'));
    const post = async (body: string): Promise<string> => {
      const res = await fetch(`${url}/schematics`, { method: 'POST', body });
      assert.equal(res.status, 201);
      return ((await res.json()) as { id: string }).id;
    };
    id = await post(SCHEMATIC);
    id4k = await post(SCHEMATIC_4K);
  });
  after(async () => {
    await t?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Downloads an asset (sparse) and, for `.xz`, decompresses it (sparse); returns the file. */
  async function image(schematic: string, version: string, file: string): Promise<string> {
    const dest = join(work, `${schematic.slice(0, 8)}-${version}-${file}`);
    await downloadSparse(`${url}/image/${schematic}/${version}/${file}`, dest);
    if (!file.endsWith('.xz')) return dest;
    const raw = dest.slice(0, -'.xz'.length);
    await decompressSparse('xz', dest, raw);
    await rm(dest);
    return raw;
  }

  /** Boots to the fixture report and checks the schematic, the extension and the image cmdline. */
  async function bootReport(
    o: Omit<DiskBoot, 'timeoutMs'> & { name: string },
    version: string,
    schematic = id,
  ): Promise<BootReport> {
    const res = await bootDisk({ timeoutMs: BOOT_TIMEOUT_MS, ...o });
    process.stderr.write(`# boot ${o.name}: ${res.durationMs} ms\n`);
    assert.ok(res.poweredOff, `${o.name}: fixture init powered off (log ${res.logFile})`);
    const r = parseReport(res.serial);
    assertSchematicReport(fx, r, version, schematic, EXTENSIONS, o.arch);
    assert.match(r.cmdline, /if\.test=disk/);
    // Disk images carry META in the META partition, never on the cmdline.
    assert.doesNotMatch(r.cmdline, /INSTALLER_META_BASE64/);
    assert.ok(
      r.modules.some((m) => m.name === 'vfat' && m.loaded),
      JSON.stringify(r.modules),
    );
    return r;
  }

  it('v1.5.5 metal-amd64.raw.xz: GRUB layout with data partitions; META; SeaBIOS and OVMF', async () => {
    const raw = await image(id, 'v1.5.5', 'metal-amd64.raw.xz');
    assert.equal((await stat(raw)).size, 1246 * MIB);
    const table = await sfdiskJson(raw);
    assert.deepEqual(partitionMiB(table), [
      ['EFI', 100],
      ['BIOS', 1],
      ['BOOT', 1000],
      ['META', 1],
      ['STATE', 100],
      ['EPHEMERAL', 42],
    ]);
    assert.deepEqual(await readMetaValues(raw), [[0x0a, META_VALUE]]);
    for (const firmware of ['bios', 'uefi'] as const) {
      const r = await bootReport({ disk: raw, firmware, name: `factory-disk-v155-${firmware}` }, 'v1.5.5');
      assert.match(
        r.cmdline,
        /^BOOT_IMAGE=\/A\/vmlinuz talos\.platform=metal /,
        'GRUB booted BOOT:/A/vmlinuz',
      );
    }
  });

  it('v1.10.6 metal-amd64.raw.xz (dual-boot): GRUB under SeaBIOS, systemd-boot + UKI under OVMF', async () => {
    const raw = await image(id, 'v1.10.6', 'metal-amd64.raw.xz');
    const table = await sfdiskJson(raw);
    assert.deepEqual(partitionMiB(table), [
      ['EFI', 1101],
      ['BIOS', 1],
      ['BOOT', 1000],
      ['META', 1],
    ]);
    assert.deepEqual(
      (await readMetaValues(raw)).sort((a, b) => a[0] - b[0]),
      [
        [0x0a, META_VALUE],
        [0x11, 'dual-boot'],
      ],
    );
    const bios = await bootReport(
      { disk: raw, firmware: 'bios', name: 'factory-disk-v1106-bios' },
      'v1.10.6',
    );
    assert.match(bios.cmdline, /^BOOT_IMAGE=\/A\/vmlinuz /);
    const uefi = await bootReport(
      { disk: raw, firmware: 'uefi', name: 'factory-disk-v1106-uefi' },
      'v1.10.6',
    );
    assert.doesNotMatch(uefi.cmdline, /BOOT_IMAGE=/, 'the systemd stub, not GRUB');
    assert.equal(uefi.cmdline, bios.cmdline.replace(/^BOOT_IMAGE=\S+ /, ''), 'one cmdline for both loaders');
  });

  it('v1.8.3 metal-amd64.qcow2 (zstd era, GRUB, no data partitions) on virtio under OVMF', async () => {
    const qcow2 = await image(id, 'v1.8.3', 'metal-amd64.qcow2');
    const { stdout } = await exec('qemu-img', ['info', '--output=json', qcow2]);
    const info = JSON.parse(stdout) as { format: string; 'virtual-size': number; 'cluster-size': number };
    assert.deepEqual([info.format, info['virtual-size'], info['cluster-size']], ['qcow2', 1246 * MIB, 8192]);
    const raw = join(work, 'v183-from-qcow2.raw');
    await exec('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', qcow2, raw]);
    assert.deepEqual(
      partitionMiB(await sfdiskJson(raw)).map(([n]) => n),
      ['EFI', 'BIOS', 'BOOT', 'META'],
    );
    await rm(raw);
    await bootReport(
      { disk: qcow2, format: 'qcow2', firmware: 'uefi', name: 'factory-disk-v183-qcow2' },
      'v1.8.3',
    );
  });

  it('diskImage.sectorSize 4096: a 4K-sector GPT that boots under OVMF (logical_block_size=4096)', async () => {
    const raw = await image(id4k, 'v1.10.6', 'metal-amd64.raw');
    const table = await sfdiskJson(raw, 4096);
    assert.equal(table.sectorsize, 4096);
    assert.equal(table.partitions[0]!.start, 256, 'first partition at 1 MiB in 4 KiB sectors');
    assert.deepEqual(
      partitionMiB(table).map(([n]) => n),
      ['EFI', 'BIOS', 'BOOT', 'META'],
    );
    assert.deepEqual(
      (await readMetaValues(raw, 4096)).find((r) => r[0] === 0x0a),
      [0x0a, META_VALUE],
    );
    await bootReport(
      { disk: raw, firmware: 'uefi', blockSize: 4096, name: 'factory-disk-4k' },
      'v1.10.6',
      id4k,
    );
  });

  it('v1.10.6 metal-arm64.raw.xz (systemd-boot) boots on qemu virt + AAVMF', async () => {
    const raw = await image(id, 'v1.10.6', 'metal-arm64.raw.xz');
    assert.deepEqual(
      partitionMiB(await sfdiskJson(raw)).map(([n]) => n),
      ['EFI', 'META'],
    );
    assert.deepEqual(await readMetaValues(raw), [[0x0a, META_VALUE]]);
    const r = await bootReport(
      { disk: raw, arch: 'arm64', firmware: 'uefi', name: 'factory-disk-arm64' },
      'v1.10.6',
    );
    assert.equal(r.arch, 'aarch64');
  });

  it('gcp-amd64.raw.tar.gz holds exactly one sparse disk.raw, which boots (SeaBIOS)', async () => {
    const tgz = await image(id, 'v1.5.5', 'gcp-amd64.raw.tar.gz');
    const { stdout: list } = await exec('tar', ['-tvzf', tgz]);
    const rows = list.trim().split('\n');
    assert.equal(rows.length, 1, list);
    assert.match(rows[0]!, /^-\S+ 0\/0 .* disk\.raw$/);
    const { stdout: typeflag } = await exec('sh', [
      '-c',
      `gzip -dc '${tgz}' | head -c 512 | od -An -c -j156 -N1`,
    ]);
    assert.equal(typeflag.trim(), 'S', 'GNU sparse member');
    const dir = join(work, 'gcp');
    await mkdir(dir);
    await exec('tar', ['-xzSf', tgz, '-C', dir]);
    const disk = join(dir, 'disk.raw');
    const st = await stat(disk);
    assert.equal(st.size, 8192 * MIB, 'the gcp profile size');
    assert.ok(st.blocks * 512 < 256 * MIB, `extracted sparse: ${st.blocks * 512} bytes allocated`);
    const r = await bootReport({ disk, firmware: 'bios', name: 'factory-disk-gcp' }, 'v1.5.5');
    assert.match(r.cmdline, /talos\.platform=gcp/);
  });

  it('azure-amd64.vhd: qemu-img info -f vpc says fixed, the platform size; footer checks out', async () => {
    const vhd = await image(id, 'v1.5.5', 'azure-amd64.vhd');
    const { stdout } = await exec('qemu-img', ['info', '--output=json', '-f', 'vpc', vhd]);
    const info = JSON.parse(stdout) as {
      format: string;
      'virtual-size': number;
      'format-specific'?: { data?: Record<string, unknown> };
    };
    assert.equal(info.format, 'vpc');
    assert.equal(info['virtual-size'], 8192 * MIB, 'force_size keeps the exact size');
    assert.equal((await stat(vhd)).size, 8192 * MIB + VHD_FOOTER_BYTES, 'fixed: data + footer');
    const fh = await open(vhd, 'r');
    const footer = Buffer.alloc(VHD_FOOTER_BYTES);
    try {
      await fh.read(footer, 0, VHD_FOOTER_BYTES, 8192 * MIB);
    } finally {
      await fh.close();
    }
    const f = parseVhdFooter(footer);
    assert.equal(f.diskType, 2, 'fixed');
    assert.equal(f.currentSize, 8192 * MIB);
    assert.ok(f.checksumValid);
    assert.deepEqual(
      partitionMiB(await sfdiskJson(vhd)).map(([n]) => n),
      ['EFI', 'BIOS', 'BOOT', 'META', 'STATE', 'EPHEMERAL'],
    );
  });

  it('vmware-amd64.ova: disk.ovf, disk.mf, disk.vmdk in that order; manifest SHA256 lines verify', async () => {
    const ova = await image(id, 'v1.5.5', 'vmware-amd64.ova');
    const { stdout: list } = await exec('tar', ['-tf', ova]);
    assert.deepEqual(list.trim().split('\n'), ['disk.ovf', 'disk.mf', 'disk.vmdk']);
    const dir = join(work, 'ova');
    await mkdir(dir);
    await exec('tar', ['-xf', ova, '-C', dir]);
    const mf = await readFile(join(dir, 'disk.mf'), 'utf8');
    const lines = mf.trim().split('\n');
    assert.equal(lines.length, 2, mf);
    for (const line of lines) {
      const m = /^SHA256\((disk\.(?:vmdk|ovf))\)= ([0-9a-f]{64})$/.exec(line);
      assert.ok(m, line);
      assert.equal(await sha256File(join(dir, m[1]!)), m[2], line);
    }
    const ovf = await readFile(join(dir, 'disk.ovf'), 'utf8');
    const vmdkBytes = (await stat(join(dir, 'disk.vmdk'))).size;
    assert.match(ovf, new RegExp(`ovf:href="disk.vmdk"[^>]*ovf:size="${vmdkBytes}"`));
    assert.match(ovf, /ovf:capacity="8192" ovf:capacityAllocationUnits="byte \* 2\^20"/);
    const { stdout } = await exec('qemu-img', ['info', '--output=json', join(dir, 'disk.vmdk')]);
    const info = JSON.parse(stdout) as { format: string; 'virtual-size': number };
    assert.deepEqual([info.format, info['virtual-size']], ['vmdk', 8192 * MIB]);
  });
});
