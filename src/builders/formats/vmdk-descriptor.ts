/**
 * The text descriptor embedded in a stream-optimized VMDK: qemu-img writes a random content ID
 * (`CID=xxxxxxxx`) into it, the only byte difference between two conversions of the same raw
 * image. {@link patchVmdkCid} rewrites it in place with a given value (same width, so no offsets
 * move). The sparse extent header names where the descriptor is (sector offset at byte 28,
 * sector count at byte 36, little-endian).
 */
import { open } from 'node:fs/promises';

const MAGIC = 0x564d444b; // 'KDMV' little-endian
const SECTOR = 512;

/** Reads the embedded descriptor text. */
export async function readVmdkDescriptor(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const { offset, length } = await locate(fh);
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, offset);
    const end = buf.indexOf(0);
    return buf.subarray(0, end === -1 ? length : end).toString('latin1');
  } finally {
    await fh.close();
  }
}

/** Replaces the descriptor's `CID=` value with `cid` (32-bit). */
export async function patchVmdkCid(path: string, cid: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const { offset, length } = await locate(fh);
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, offset);
    const text = buf.toString('latin1');
    const m = /^CID=([0-9a-f]{8})$/m.exec(text);
    if (m === null) throw new Error('vmdk: descriptor has no CID line');
    const value = (cid >>> 0).toString(16).padStart(8, '0');
    buf.write(value, m.index + 4, 'latin1');
    await fh.write(buf, 0, length, offset);
  } finally {
    await fh.close();
  }
}

async function locate(fh: Awaited<ReturnType<typeof open>>): Promise<{ offset: number; length: number }> {
  const h = Buffer.alloc(SECTOR);
  await fh.read(h, 0, SECTOR, 0);
  if (h.readUInt32LE(0) !== MAGIC) throw new Error('vmdk: not a sparse VMDK');
  const offset = Number(h.readBigUInt64LE(28)) * SECTOR;
  const length = Number(h.readBigUInt64LE(36)) * SECTOR;
  if (offset === 0 || length === 0 || length > 1024 * 1024) throw new Error('vmdk: no embedded descriptor');
  return { offset, length };
}
