/**
 * GUID Partition Table: allocation, encoding and a strict parser, the way go-blockdevice v2
 * (`partitioning/gpt`, used by Talos ≥ 1.13 imagers) lays a table out (errata §5):
 *
 * - protective MBR: one entry, type 0xEE, CHS `00 02 00`/`ff ff ff`, start LBA 1, length = last
 *   LBA (capped at 0xFFFFFFFF), not bootable; boot code bytes 0–445 are left to the caller;
 * - primary header at LBA 1 occupying a whole sector; 128 entries × 128 bytes (16 KiB: 32 LBAs at
 *   512-byte sectors, 4 at 4096) starting at LBA 2 + `skipLBAs` (overlays move the array so boot
 *   firmware fits before it);
 * - first usable LBA = end of the entry array, aligned up to the alignment (1 MiB, or the IO size
 *   when larger); last usable = backup entries − 1; backup entries end right before the backup
 *   header in the last LBA;
 * - partitions allocated in order, each start aligned up; sizes exact; a size of 0 takes the rest
 *   up to the last alignment boundary at or below the last usable LBA.
 */
import { crc32 } from 'node:zlib';
import { guidFromDisk, guidToDisk, isGuidText } from './guid.js';

/** Entries in the array (GPT minimum, what every tool writes). */
export const GPT_ENTRY_COUNT = 128;
/** Bytes per entry. */
export const GPT_ENTRY_SIZE = 128;
/** Bytes of the header that the CRC covers. */
const HEADER_SIZE = 92;
const SIGNATURE = Buffer.from('EFI PART', 'ascii');
const REVISION = 0x00010000;
/** Partition names are UTF-16LE in 72 bytes. */
const NAME_BYTES = 72;
/** Default alignment: 1 MiB. */
export const GPT_ALIGNMENT_BYTES = 1024 * 1024;

/** Attribute bit 2: "legacy BIOS bootable" (set on the BIOS boot partition). */
export const GPT_ATTR_LEGACY_BIOS_BOOTABLE = 1n << 2n;

/** Sector sizes disk images are built with. */
export type SectorSize = 512 | 4096;

/** One partition to allocate. */
export interface GptPartitionSpec {
  /** GPT name (UTF-16LE, at most 36 UTF-16 code units). */
  label: string;
  /** Type GUID, text form. */
  type: string;
  /** Unique partition GUID, text form. */
  guid: string;
  /** Exact size in bytes (a multiple of the sector size); 0 = the rest of the disk. */
  sizeBytes: number;
  attributes?: bigint;
}

/** Table-wide options. */
export interface GptOptions {
  /** Disk size in bytes (a multiple of the sector size). */
  diskBytes: number;
  sectorSize: SectorSize;
  diskGuid: string;
  /** Extra LBAs between the primary header and the entry array (overlay `partitionOptions.offset`). */
  skipLBAs?: number;
  /** Device IO size in bytes; the alignment is max(1 MiB, ioSize). */
  ioSizeBytes?: number;
}

/** One allocated partition. */
export interface GptPartition {
  /** 1-based partition number (index in the entry array + 1). */
  number: number;
  label: string;
  type: string;
  guid: string;
  firstLBA: number;
  /** Inclusive. */
  lastLBA: number;
  attributes: bigint;
}

/** A complete table: geometry plus partitions. */
export interface GptTable {
  sectorSize: SectorSize;
  diskBytes: number;
  diskGuid: string;
  lastLBA: number;
  primaryEntriesLBA: number;
  backupEntriesLBA: number;
  firstUsableLBA: number;
  lastUsableLBA: number;
  /** Alignment in sectors. */
  alignment: number;
  partitions: GptPartition[];
}

/** A byte range to write into the disk image. */
export interface DiskWrite {
  offset: number;
  data: Buffer;
}

/** The geometry and partitions of a new table (throws RangeError when something does not fit). */
export function allocateGpt(options: GptOptions, specs: readonly GptPartitionSpec[]): GptTable {
  const { sectorSize, diskBytes } = options;
  if (sectorSize !== 512 && sectorSize !== 4096)
    throw new RangeError(`gpt: sector size ${String(sectorSize)}`);
  if (!Number.isSafeInteger(diskBytes) || diskBytes % sectorSize !== 0)
    throw new RangeError(`gpt: disk size ${diskBytes} is not a multiple of ${sectorSize}`);
  const skip = options.skipLBAs ?? 0;
  if (!Number.isSafeInteger(skip) || skip < 0) throw new RangeError(`gpt: skipLBAs ${skip}`);
  if (!isGuidText(options.diskGuid)) throw new RangeError(`gpt: disk GUID ${options.diskGuid}`);
  const lastLBA = diskBytes / sectorSize - 1;
  if (lastLBA < 33) throw new RangeError('gpt: device too small for GPT');
  const entryLBAs = Math.ceil((GPT_ENTRY_SIZE * GPT_ENTRY_COUNT) / sectorSize);
  const primaryEntriesLBA = 2 + skip;
  const backupEntriesLBA = lastLBA - entryLBAs;
  const alignment = Math.ceil(Math.max(options.ioSizeBytes ?? sectorSize, GPT_ALIGNMENT_BYTES) / sectorSize);
  const firstUsableLBA = alignUp(primaryEntriesLBA + entryLBAs, alignment);
  const lastUsableLBA = backupEntriesLBA - 1;
  if (specs.length > GPT_ENTRY_COUNT) throw new RangeError(`gpt: more than ${GPT_ENTRY_COUNT} partitions`);

  const partitions: GptPartition[] = [];
  let low = firstUsableLBA;
  for (const [i, spec] of specs.entries()) {
    validateSpec(spec, sectorSize);
    const start = alignUp(low, alignment);
    const high = alignDown(lastUsableLBA, alignment);
    const available = high > start ? high - start : 0;
    const sectors = spec.sizeBytes === 0 ? available : spec.sizeBytes / sectorSize;
    if (sectors === 0 || sectors > available) {
      throw new RangeError(
        `gpt: partition ${spec.label} (${spec.sizeBytes === 0 ? 'rest' : `${spec.sizeBytes} bytes`}) does not fit the ${diskBytes}-byte disk`,
      );
    }
    partitions.push({
      number: i + 1,
      label: spec.label,
      type: spec.type.toLowerCase(),
      guid: spec.guid.toLowerCase(),
      firstLBA: start,
      lastLBA: start + sectors - 1,
      attributes: spec.attributes ?? 0n,
    });
    low = start + sectors;
  }
  return {
    sectorSize,
    diskBytes,
    diskGuid: options.diskGuid.toLowerCase(),
    lastLBA,
    primaryEntriesLBA,
    backupEntriesLBA,
    firstUsableLBA,
    lastUsableLBA,
    alignment,
    partitions,
  };
}

/** Byte offset and length of a partition. */
export function partitionExtent(table: GptTable, p: GptPartition): { offset: number; length: number } {
  return { offset: p.firstLBA * table.sectorSize, length: (p.lastLBA - p.firstLBA + 1) * table.sectorSize };
}

/** Everything the table writes: protective MBR, both headers, both entry arrays. */
export function encodeGpt(table: GptTable): DiskWrite[] {
  const ss = table.sectorSize;
  const entries = encodeEntries(table.partitions);
  const entriesCrc = crc32(entries);
  const header = (myLBA: number, alternateLBA: number, entriesLBA: number): Buffer => {
    const h = Buffer.alloc(ss);
    SIGNATURE.copy(h, 0);
    h.writeUInt32LE(REVISION, 8);
    h.writeUInt32LE(HEADER_SIZE, 12);
    h.writeBigUInt64LE(BigInt(myLBA), 24);
    h.writeBigUInt64LE(BigInt(alternateLBA), 32);
    h.writeBigUInt64LE(BigInt(table.firstUsableLBA), 40);
    h.writeBigUInt64LE(BigInt(table.lastUsableLBA), 48);
    guidToDisk(table.diskGuid).copy(h, 56);
    h.writeBigUInt64LE(BigInt(entriesLBA), 72);
    h.writeUInt32LE(GPT_ENTRY_COUNT, 80);
    h.writeUInt32LE(GPT_ENTRY_SIZE, 84);
    h.writeUInt32LE(entriesCrc, 88);
    h.writeUInt32LE(crc32(h.subarray(0, HEADER_SIZE)), 16);
    return h;
  };
  return [
    { offset: 0, data: protectiveMbr(table.lastLBA) },
    { offset: ss, data: header(1, table.lastLBA, table.primaryEntriesLBA) },
    { offset: table.primaryEntriesLBA * ss, data: entries },
    { offset: table.backupEntriesLBA * ss, data: entries },
    { offset: table.lastLBA * ss, data: header(table.lastLBA, 1, table.backupEntriesLBA) },
  ];
}

/** The 512-byte protective MBR (boot code area zero). */
export function protectiveMbr(lastLBA: number): Buffer {
  const mbr = Buffer.alloc(512);
  const e = mbr.subarray(446, 462);
  e[0] = 0x00;
  Buffer.from([0x00, 0x02, 0x00]).copy(e, 1);
  e[4] = 0xee;
  Buffer.from([0xff, 0xff, 0xff]).copy(e, 5);
  e.writeUInt32LE(1, 8);
  e.writeUInt32LE(Math.min(lastLBA, 0xffffffff), 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

function encodeEntries(partitions: readonly GptPartition[]): Buffer {
  const buf = Buffer.alloc(GPT_ENTRY_SIZE * GPT_ENTRY_COUNT);
  for (const p of partitions) {
    const e = buf.subarray((p.number - 1) * GPT_ENTRY_SIZE, p.number * GPT_ENTRY_SIZE);
    guidToDisk(p.type).copy(e, 0);
    guidToDisk(p.guid).copy(e, 16);
    e.writeBigUInt64LE(BigInt(p.firstLBA), 32);
    e.writeBigUInt64LE(BigInt(p.lastLBA), 40);
    e.writeBigUInt64LE(p.attributes, 48);
    encodeName(p.label).copy(e, 56);
  }
  return buf;
}

function encodeName(label: string): Buffer {
  const b = Buffer.from(label, 'utf16le');
  if (b.length > NAME_BYTES) throw new RangeError(`gpt: partition name ${JSON.stringify(label)} too long`);
  return b;
}

function validateSpec(spec: GptPartitionSpec, sectorSize: number): void {
  if (!isGuidText(spec.type)) throw new RangeError(`gpt: ${spec.label}: type GUID ${spec.type}`);
  if (!isGuidText(spec.guid)) throw new RangeError(`gpt: ${spec.label}: GUID ${spec.guid}`);
  if (!Number.isSafeInteger(spec.sizeBytes) || spec.sizeBytes < 0 || spec.sizeBytes % sectorSize !== 0)
    throw new RangeError(`gpt: ${spec.label}: size ${spec.sizeBytes} is not a multiple of ${sectorSize}`);
  encodeName(spec.label);
}

function alignUp(lba: number, alignment: number): number {
  return Math.ceil(lba / alignment) * alignment;
}

function alignDown(lba: number, alignment: number): number {
  return Math.floor(lba / alignment) * alignment;
}

// ---------------------------------------------------------------------------------------------
// Parser (for tests and verification of what we wrote; strict: any inconsistency is an error).

/** Reads `length` bytes at `offset` of the disk. */
export type ReadAt = (offset: number, length: number) => Promise<Buffer>;

/** What {@link parseGpt} found besides the table itself. */
export interface ParsedGpt extends GptTable {
  /** The protective MBR entry as found. */
  pmbr: { bootIndicator: number; type: number; startLBA: number; sizeLBA: number };
  /** Header fields that are derived, for cross-checks. */
  primaryHeaderCrc: number;
  backupHeaderCrc: number;
  entriesCrc: number;
}

/** Parses and cross-checks the primary and backup GPT of a disk (throws Error naming the defect). */
export async function parseGpt(read: ReadAt, diskBytes: number, sectorSize: SectorSize): Promise<ParsedGpt> {
  const ss = sectorSize;
  const lastLBA = diskBytes / ss - 1;
  if (!Number.isInteger(lastLBA) || lastLBA < 33) throw new Error('gpt: disk size is not usable');
  const mbr = await read(0, 512);
  if (mbr[510] !== 0x55 || mbr[511] !== 0xaa) throw new Error('gpt: MBR signature missing');
  const pe = mbr.subarray(446, 462);
  const pmbr = {
    bootIndicator: pe[0]!,
    type: pe[4]!,
    startLBA: pe.readUInt32LE(8),
    sizeLBA: pe.readUInt32LE(12),
  };
  if (pmbr.type !== 0xee) throw new Error(`gpt: protective MBR type 0x${pmbr.type.toString(16)}`);
  for (let i = 1; i < 4; i++) {
    if (mbr.subarray(446 + 16 * i, 462 + 16 * i).some((b) => b !== 0))
      throw new Error(`gpt: MBR entry ${i + 1} is not empty`);
  }

  const primary = await readHeader(read, 1, ss);
  const backup = await readHeader(read, lastLBA, ss);
  if (primary.alternateLBA !== lastLBA || backup.alternateLBA !== 1)
    throw new Error('gpt: header alternate LBAs do not point at each other');
  for (const field of ['firstUsableLBA', 'lastUsableLBA', 'diskGuid', 'entriesCrc'] as const) {
    if (primary[field] !== backup[field]) throw new Error(`gpt: primary and backup differ in ${field}`);
  }
  const entryBytes = GPT_ENTRY_COUNT * GPT_ENTRY_SIZE;
  const primaryEntries = await read(primary.entriesLBA * ss, entryBytes);
  const backupEntries = await read(backup.entriesLBA * ss, entryBytes);
  if (crc32(primaryEntries) !== primary.entriesCrc) throw new Error('gpt: primary entry array CRC mismatch');
  if (!primaryEntries.equals(backupEntries)) throw new Error('gpt: backup entry array differs');
  const entryLBAs = Math.ceil(entryBytes / ss);
  if (backup.entriesLBA + entryLBAs !== lastLBA)
    throw new Error('gpt: backup entries do not end at the header');
  if (primary.firstUsableLBA < primary.entriesLBA + entryLBAs)
    throw new Error('gpt: first usable LBA overlaps the entry array');
  if (primary.lastUsableLBA >= backup.entriesLBA)
    throw new Error('gpt: last usable LBA overlaps backup entries');

  const partitions: GptPartition[] = [];
  for (let i = 0; i < GPT_ENTRY_COUNT; i++) {
    const e = primaryEntries.subarray(i * GPT_ENTRY_SIZE, (i + 1) * GPT_ENTRY_SIZE);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const firstLBA = Number(e.readBigUInt64LE(32));
    const lastPart = Number(e.readBigUInt64LE(40));
    if (firstLBA < primary.firstUsableLBA || lastPart > primary.lastUsableLBA || lastPart < firstLBA)
      throw new Error(`gpt: partition ${i + 1} lies outside the usable area`);
    const nameBytes = e.subarray(56, 128);
    let end = 0;
    while (end < NAME_BYTES && (nameBytes[end] !== 0 || nameBytes[end + 1] !== 0)) end += 2;
    partitions.push({
      number: i + 1,
      label: nameBytes.subarray(0, end).toString('utf16le'),
      type: guidFromDisk(e.subarray(0, 16)),
      guid: guidFromDisk(e.subarray(16, 32)),
      firstLBA,
      lastLBA: lastPart,
      attributes: e.readBigUInt64LE(48),
    });
  }
  const sorted = [...partitions].sort((a, b) => a.firstLBA - b.firstLBA);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.firstLBA <= sorted[i - 1]!.lastLBA)
      throw new Error(`gpt: partitions ${sorted[i - 1]!.number} and ${sorted[i]!.number} overlap`);
  }
  return {
    sectorSize,
    diskBytes,
    diskGuid: primary.diskGuid,
    lastLBA,
    primaryEntriesLBA: primary.entriesLBA,
    backupEntriesLBA: backup.entriesLBA,
    firstUsableLBA: primary.firstUsableLBA,
    lastUsableLBA: primary.lastUsableLBA,
    alignment: 0,
    partitions,
    pmbr,
    primaryHeaderCrc: primary.crc,
    backupHeaderCrc: backup.crc,
    entriesCrc: primary.entriesCrc,
  };
}

interface Header {
  alternateLBA: number;
  firstUsableLBA: number;
  lastUsableLBA: number;
  diskGuid: string;
  entriesLBA: number;
  entriesCrc: number;
  crc: number;
}

async function readHeader(read: ReadAt, lba: number, ss: number): Promise<Header> {
  const h = await read(lba * ss, ss);
  const where = lba === 1 ? 'primary' : 'backup';
  if (!h.subarray(0, 8).equals(SIGNATURE)) throw new Error(`gpt: ${where} header signature missing`);
  if (h.readUInt32LE(8) !== REVISION) throw new Error(`gpt: ${where} header revision`);
  const size = h.readUInt32LE(12);
  if (size !== HEADER_SIZE) throw new Error(`gpt: ${where} header size ${size}`);
  const crc = h.readUInt32LE(16);
  const copy = Buffer.from(h.subarray(0, size));
  copy.writeUInt32LE(0, 16);
  if (crc32(copy) !== crc) throw new Error(`gpt: ${where} header CRC mismatch`);
  if (h.subarray(HEADER_SIZE).some((b) => b !== 0)) throw new Error(`gpt: ${where} header tail not zero`);
  if (Number(h.readBigUInt64LE(24)) !== lba) throw new Error(`gpt: ${where} header my-LBA`);
  if (h.readUInt32LE(80) !== GPT_ENTRY_COUNT || h.readUInt32LE(84) !== GPT_ENTRY_SIZE)
    throw new Error(`gpt: ${where} header entry geometry`);
  return {
    alternateLBA: Number(h.readBigUInt64LE(32)),
    firstUsableLBA: Number(h.readBigUInt64LE(40)),
    lastUsableLBA: Number(h.readBigUInt64LE(48)),
    diskGuid: guidFromDisk(h.subarray(56, 72)),
    entriesLBA: Number(h.readBigUInt64LE(72)),
    entriesCrc: h.readUInt32LE(88),
    crc,
  };
}
