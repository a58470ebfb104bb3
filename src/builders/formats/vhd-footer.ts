/**
 * The footer of a fixed VHD (the last 512 bytes; "Virtual Hard Disk Image Format Specification"):
 * `qemu-img convert -O vpc -o subformat=fixed,force_size` stamps it with the current time and a
 * random unique ID, the only bytes that change between two conversions of the same raw image.
 * {@link patchVhdFooter} replaces both with given values and re-seals the checksum (one's
 * complement of the byte sum with the checksum field zeroed).
 */
import { open } from 'node:fs/promises';

export const VHD_FOOTER_BYTES = 512;
const COOKIE = Buffer.from('conectix', 'ascii');
/** VHD timestamps count seconds from 2000-01-01T00:00:00Z. */
const VHD_EPOCH = 946684800;
const TIMESTAMP = 24;
const CURRENT_SIZE = 48;
const DISK_TYPE = 60;
const CHECKSUM = 64;
const UNIQUE_ID = 68;

/** Fields of a footer, for checks. */
export interface VhdFooter {
  timestamp: number;
  creatorApp: string;
  currentSize: number;
  originalSize: number;
  /** 2 = fixed, 3 = dynamic. */
  diskType: number;
  uniqueId: string;
  checksumValid: boolean;
}

/** Decodes a 512-byte footer. */
export function parseVhdFooter(f: Buffer): VhdFooter {
  if (!f.subarray(0, 8).equals(COOKIE)) throw new Error('vhd: footer cookie "conectix" missing');
  return {
    timestamp: f.readUInt32BE(TIMESTAMP),
    creatorApp: f.subarray(28, 32).toString('latin1'),
    originalSize: Number(f.readBigUInt64BE(40)),
    currentSize: Number(f.readBigUInt64BE(CURRENT_SIZE)),
    diskType: f.readUInt32BE(DISK_TYPE),
    uniqueId: f.subarray(UNIQUE_ID, UNIQUE_ID + 16).toString('hex'),
    checksumValid: footerChecksum(f) === f.readUInt32BE(CHECKSUM),
  };
}

/**
 * Sets timestamp (Unix seconds, clamped to the VHD epoch) and unique ID in place: the footer at the
 * end, and for dynamic VHDs also its copy at offset 0 (their dynamic header holds no time).
 */
export async function patchVhdFooter(
  path: string,
  unixSeconds: number,
  uniqueId: Buffer,
): Promise<VhdFooter> {
  if (uniqueId.length !== 16) throw new RangeError('vhd: unique ID must be 16 bytes');
  const fh = await open(path, 'r+');
  try {
    const { size } = await fh.stat();
    const f = Buffer.alloc(VHD_FOOTER_BYTES);
    await fh.read(f, 0, VHD_FOOTER_BYTES, size - VHD_FOOTER_BYTES);
    const parsed = parseVhdFooter(f);
    f.writeUInt32BE(Math.max(0, unixSeconds - VHD_EPOCH), TIMESTAMP);
    uniqueId.copy(f, UNIQUE_ID);
    f.writeUInt32BE(footerChecksum(f), CHECKSUM);
    await fh.write(f, 0, VHD_FOOTER_BYTES, size - VHD_FOOTER_BYTES);
    if (parsed.diskType !== 2) await fh.write(f, 0, VHD_FOOTER_BYTES, 0);
    return parseVhdFooter(f);
  } finally {
    await fh.close();
  }
}

function footerChecksum(f: Buffer): number {
  let sum = 0;
  for (let i = 0; i < VHD_FOOTER_BYTES; i++) if (i < CHECKSUM || i >= CHECKSUM + 4) sum += f[i]!;
  return ~sum >>> 0;
}
