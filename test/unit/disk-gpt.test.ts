/**
 * GPT writer + parser: label GUID vectors (errata §5), the 1.5 worked example (talos-imager §6.1),
 * round trips for every layout the disk builder makes (512/4096-byte sectors, overlay offsets),
 * and agreement with independent tools: `sgdisk -v`, `sfdisk --json` (512-byte sectors) and
 * `fdisk -b 4096 -l` (4K sectors; neither sgdisk nor Debian 12's sfdisk takes a sector size).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  allocateGpt,
  encodeGpt,
  GPT_ATTR_LEGACY_BIOS_BOOTABLE,
  parseGpt,
  type GptTable,
  type SectorSize,
} from '../../src/builders/formats/gpt.js';
import {
  guidFromDisk,
  guidToDisk,
  labelGuid,
  PARTITION_TYPE,
  TALOS_DISK_GUID_LABEL,
} from '../../src/builders/formats/guid.js';
import { diskLayout, type DiskBootloader } from '../../src/builders/disk/layouts.js';
import { deriveQuirks } from '../../src/profile/quirks.js';
import { parseTalosVersion } from '../../src/profile/version.js';

const exec = promisify(execFile);
const MIB = 1024 * 1024;
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'disk-gpt-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function table(
  bootloader: DiskBootloader,
  version: string,
  diskMiB: number,
  sectorSize: SectorSize,
  skipLBAs = 0,
): GptTable {
  const layout = diskLayout(bootloader, deriveQuirks(parseTalosVersion(version)));
  return allocateGpt(
    { diskBytes: diskMiB * MIB, sectorSize, diskGuid: labelGuid(TALOS_DISK_GUID_LABEL), skipLBAs },
    layout.map((p) => ({
      label: p.label,
      type: p.type,
      guid: labelGuid(p.label),
      sizeBytes: p.sizeBytes,
      attributes: p.attributes,
    })),
  );
}

async function writeDisk(name: string, t: GptTable): Promise<string> {
  const file = path.join(dir, name);
  const fh = await open(file, 'w');
  try {
    await fh.truncate(t.diskBytes);
    for (const w of encodeGpt(t)) await fh.write(w.data, 0, w.data.length, w.offset);
  } finally {
    await fh.close();
  }
  return file;
}

async function parseFile(file: string, t: GptTable): ReturnType<typeof parseGpt> {
  const fh = await open(file, 'r');
  try {
    return await parseGpt(
      async (offset, length) => {
        const b = Buffer.alloc(length);
        await fh.read(b, 0, length, offset);
        return b;
      },
      t.diskBytes,
      t.sectorSize,
    );
  } finally {
    await fh.close();
  }
}

describe('label GUIDs (errata §5 vectors)', () => {
  const vectors: [string, string, string][] = [
    [TALOS_DISK_GUID_LABEL, 'd92d45b3-cde9-8760-be9f-a2a71fac8d11', 'b3452dd9e9cd6087be9fa2a71fac8d11'],
    ['EFI', 'bca5174b-0118-8a6a-af0b-2c6e1585acae', ''],
    ['BIOS', 'a2a02ff5-d88d-8e6e-9c95-26b9b6c80bc3', ''],
    ['BOOT', '24c73076-4092-85dd-9d98-686a2dbf6d81', ''],
    ['META', 'cf04f137-101e-8ec6-9627-fa3f51cdabb8', ''],
  ];
  for (const [label, text, disk] of vectors) {
    test(`${label} → ${text}`, () => {
      assert.equal(labelGuid(label), text);
      const bytes = guidToDisk(text);
      if (disk !== '') assert.equal(bytes.toString('hex'), disk);
      assert.equal(guidFromDisk(bytes), text);
    });
  }
});

describe('allocation', () => {
  test('1.5 worked example: metal amd64 1246 MiB, 512-byte sectors', () => {
    const t = table('grub', 'v1.5.5', 1246, 512);
    assert.equal(t.lastLBA, 2551807);
    assert.deepEqual(
      t.partitions.map((p) => [p.label, p.firstLBA, p.lastLBA]),
      [
        ['EFI', 2048, 206847],
        ['BIOS', 206848, 208895],
        ['BOOT', 208896, 2256895],
        ['META', 2256896, 2258943],
        ['STATE', 2258944, 2463743],
        ['EPHEMERAL', 2463744, 2549759],
      ],
    );
    assert.equal(t.partitions[1]!.attributes, GPT_ATTR_LEGACY_BIOS_BOOTABLE);
    assert.equal(t.partitions[0]!.type, PARTITION_TYPE.esp);
  });

  test('Talos ≥ 1.8 has no STATE/EPHEMERAL; ≥ 1.11 BOOT is 2000 MiB; UKI ESP = 100 + 1 + BOOT', () => {
    assert.deepEqual(
      table('grub', 'v1.8.3', 1246, 512).partitions.map((p) => p.label),
      ['EFI', 'BIOS', 'BOOT', 'META'],
    );
    const dual = table('dual-boot', 'v1.11.0', 4247, 512).partitions;
    assert.deepEqual(
      dual.map((p) => [p.label, (p.lastLBA - p.firstLBA + 1) / 2048]),
      [
        ['EFI', 2101],
        ['BIOS', 1],
        ['BOOT', 2000],
        ['META', 1],
      ],
    );
    assert.deepEqual(
      table('sd-boot', 'v1.10.6', 2246, 512).partitions.map((p) => [
        p.label,
        (p.lastLBA - p.firstLBA + 1) / 2048,
      ]),
      [
        ['EFI', 1101],
        ['META', 1],
      ],
    );
  });

  test('4096-byte sectors: 4-LBA entry arrays, 1 MiB = 256 LBAs', () => {
    const t = table('grub', 'v1.10.6', 1246, 4096);
    assert.equal(t.primaryEntriesLBA, 2);
    assert.equal(t.firstUsableLBA, 256);
    assert.equal(t.backupEntriesLBA, t.lastLBA - 4);
    assert.equal(t.partitions[0]!.firstLBA, 256);
    assert.equal(t.partitions[0]!.lastLBA - t.partitions[0]!.firstLBA + 1, 25600);
  });

  test('overlay offset moves the entry array; first usable stays aligned', () => {
    const t = table('grub', 'v1.8.3', 1246, 512, 2046);
    assert.equal(t.primaryEntriesLBA, 2048);
    assert.equal(t.firstUsableLBA, 4096);
    assert.equal(t.partitions[0]!.firstLBA, 4096);
  });

  test('a layout that does not fit is a RangeError naming the partition', () => {
    assert.throws(
      () => table('dual-boot', 'v1.11.0', 3000, 512),
      /partition BOOT \(2097152000 bytes\) does not fit/,
    );
  });
});

interface SfdiskJson {
  partitiontable: {
    label: string;
    id: string;
    firstlba: number;
    lastlba: number;
    sectorsize?: number;
    partitions: {
      node: string;
      start: number;
      size: number;
      type: string;
      uuid: string;
      name: string;
      attrs?: string;
    }[];
  };
}

const CASES: [DiskBootloader, string, number, SectorSize, number][] = [
  ['grub', 'v1.5.5', 1246, 512, 0],
  ['grub', 'v1.8.3', 1246, 512, 0],
  ['grub', 'v1.8.3', 1246, 512, 2046],
  ['grub', 'v1.8.3', 1246, 512, 20478],
  ['sd-boot', 'v1.10.6', 2246, 512, 0],
  ['dual-boot', 'v1.11.0', 4247, 512, 0],
  ['dual-boot', 'v1.10.6', 8192 + 1001, 512, 0],
  ['grub', 'v1.5.5', 1246, 4096, 0],
  ['dual-boot', 'v1.11.0', 4247, 4096, 0],
  ['sd-boot', 'v1.8.3', 1246, 4096, 0],
];

describe('round trip and external tools', () => {
  for (const [bl, v, mib, ss, skip] of CASES) {
    test(`${bl} ${v} ${mib} MiB, ${ss}-byte sectors, skip ${skip}`, async () => {
      const t = table(bl, v, mib, ss, skip);
      const file = await writeDisk(`${bl}-${v}-${mib}-${ss}-${skip}.raw`, t);
      const parsed = await parseFile(file, t);
      const { pmbr, primaryHeaderCrc, backupHeaderCrc, entriesCrc, alignment, ...rest } = parsed;
      void primaryHeaderCrc;
      void backupHeaderCrc;
      void entriesCrc;
      void alignment;
      assert.deepEqual({ ...rest, alignment: t.alignment }, t);
      assert.deepEqual(pmbr, { bootIndicator: 0, type: 0xee, startLBA: 1, sizeLBA: t.lastLBA });

      if (ss === 512) {
        const { stdout: verify } = await exec('sgdisk', ['-v', file]);
        assert.match(verify, /No problems found/, verify);
        const { stdout } = await exec('sfdisk', ['--json', file]);
        const pt = (JSON.parse(stdout) as SfdiskJson).partitiontable;
        assert.equal(pt.label, 'gpt');
        assert.equal(pt.id.toLowerCase(), t.diskGuid);
        assert.equal(pt.firstlba, t.firstUsableLBA);
        assert.equal(pt.lastlba, t.lastUsableLBA);
        assert.deepEqual(
          pt.partitions.map((p) => ({
            start: p.start,
            size: p.size,
            type: p.type.toLowerCase(),
            uuid: p.uuid.toLowerCase(),
            name: p.name,
            legacyBoot: (p.attrs ?? '').includes('LegacyBIOSBootable'),
          })),
          t.partitions.map((p) => ({
            start: p.firstLBA,
            size: p.lastLBA - p.firstLBA + 1,
            type: p.type,
            uuid: p.guid,
            name: p.label,
            legacyBoot: p.attributes === GPT_ATTR_LEGACY_BIOS_BOOTABLE,
          })),
        );
      } else {
        const { stdout, stderr } = await exec('fdisk', [
          '-b',
          String(ss),
          '-l',
          '-o',
          'Device,Start,End,Type-UUID,UUID,Name,Attrs',
          file,
        ]);
        assert.doesNotMatch(`${stdout}${stderr}`, /corrupt|mismatch|invalid/i);
        assert.match(stdout, new RegExp(`Sector size \\(logical/physical\\): ${ss} bytes`));
        assert.match(stdout, new RegExp(`Disk identifier: ${t.diskGuid.toUpperCase()}`));
        const rows = stdout
          .split('\n')
          .filter((l) => l.startsWith(file))
          .map((l) => l.slice(file.length).trim().split(/\s+/));
        assert.deepEqual(
          rows.map((r) => [Number(r[1]), Number(r[2]), r[3]!.toLowerCase(), r[4]!.toLowerCase(), r[5]]),
          t.partitions.map((p) => [p.firstLBA, p.lastLBA, p.type, p.guid, p.label]),
        );
      }
    });
  }

  test('parser rejects a damaged backup header and a damaged entry array', async () => {
    const t = table('grub', 'v1.8.3', 1246, 512);
    const file = await writeDisk('damaged.raw', t);
    const fh = await open(file, 'r+');
    try {
      await fh.write(Buffer.from([0xff]), 0, 1, t.lastLBA * 512 + 40);
      await assert.rejects(parseFile(file, t), /backup header CRC mismatch/);
      await fh.write(Buffer.from([0x00]), 0, 1, t.lastLBA * 512 + 40);
      await fh.write(Buffer.from([0xff]), 0, 1, 2 * 512 + 60);
      await assert.rejects(parseFile(file, t), /entry array CRC mismatch/);
    } finally {
      await fh.close();
    }
  });
});
