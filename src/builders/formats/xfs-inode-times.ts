/**
 * Sets every allocated inode's timestamps in an XFS v5 image to one fixed time and re-seals the
 * inode CRCs. Why: Debian 12's `mkfs.xfs -p` (xfsprogs 6.1) stamps the inodes it creates with the
 * current time and has no `SOURCE_DATE_EPOCH` support, and those timestamps are the only bytes
 * that differ between two builds of the same tree (checked by comparing images). Fixing them in
 * place keeps the BOOT filesystem reproducible without LD_PRELOAD tricks.
 *
 * The walk is the documented on-disk format: superblock → per-AG AGI → inode B+tree (v5 short
 * blocks, `IAB3`), leaf records → inode chunks; sparse chunks are handled through the free mask
 * (holes are always marked free). Timestamps are written in the inode's own encoding (bigtime
 * nanoseconds when `XFS_DIFLAG2_BIGTIME` is set, else seconds + nanoseconds).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { crc32c } from './crc32c.js';

const SB_MAGIC = 0x58465342; // 'XFSB'
const AGI_MAGIC = 0x58414749; // 'XAGI'
const IBT_CRC_MAGIC = 0x49414233; // 'IAB3'
const DINODE_MAGIC = 0x494e; // 'IN'
const SHORT_BLOCK_HEADER = 56;
const DIFLAG2_BIGTIME = 1n << 3n;
/** Bigtime timestamps count nanoseconds from -(2^31) seconds. */
const BIGTIME_OFFSET = 2n ** 31n;
const INODE_CRC_OFFSET = 100;
/** Offsets of atime, mtime, ctime and (v3) crtime in the inode core. */
const TIME_OFFSETS = [32, 40, 48, 144] as const;

/** What was changed, for tests and logs. */
export interface XfsTimesResult {
  inodes: number;
}

interface Geometry {
  blockSize: number;
  sectSize: number;
  agBlocks: number;
  agCount: number;
  inodeSize: number;
  inoPerBlockLog: number;
}

/** Rewrites atime/mtime/ctime/crtime of every allocated inode of the XFS image at `path`. */
export async function setXfsInodeTimes(path: string, epochSeconds: number): Promise<XfsTimesResult> {
  if (!Number.isSafeInteger(epochSeconds) || epochSeconds < 0 || epochSeconds > 0x7fffffff)
    throw new RangeError(`xfs: timestamp ${epochSeconds} out of range`);
  const fh = await open(path, 'r+');
  try {
    const g = await readGeometry(fh);
    let inodes = 0;
    for (let ag = 0; ag < g.agCount; ag++) {
      const agStart = ag * g.agBlocks * g.blockSize;
      const agi = await readAt(fh, agStart + 2 * g.sectSize, g.sectSize);
      if (agi.readUInt32BE(0) !== AGI_MAGIC) throw new Error(`xfs: AG ${ag}: AGI magic mismatch`);
      const root = agi.readUInt32BE(20);
      // agi_level counts levels (1 = the root is a leaf); block headers count from 0 at the leaves.
      const levels = agi.readUInt32BE(24);
      for await (const rec of walkInobt(fh, g, agStart, root, levels - 1)) {
        inodes += await fixChunk(fh, g, agStart, rec, BigInt(epochSeconds));
      }
    }
    return { inodes };
  } finally {
    await fh.close();
  }
}

async function readGeometry(fh: FileHandle): Promise<Geometry> {
  const sb = await readAt(fh, 0, 512);
  if (sb.readUInt32BE(0) !== SB_MAGIC) throw new Error('xfs: superblock magic mismatch');
  if ((sb.readUInt16BE(100) & 0xf) !== 5) throw new Error('xfs: only v5 (CRC) filesystems are supported');
  return {
    blockSize: sb.readUInt32BE(4),
    agBlocks: sb.readUInt32BE(84),
    agCount: sb.readUInt32BE(88),
    sectSize: sb.readUInt16BE(102),
    inodeSize: sb.readUInt16BE(104),
    inoPerBlockLog: sb.readUInt8(123),
  };
}

interface InobtRecord {
  startIno: number;
  free: bigint;
}

async function* walkInobt(
  fh: FileHandle,
  g: Geometry,
  agStart: number,
  block: number,
  expectedLevel: number,
): AsyncGenerator<InobtRecord> {
  const b = await readAt(fh, agStart + block * g.blockSize, g.blockSize);
  if (b.readUInt32BE(0) !== IBT_CRC_MAGIC) throw new Error(`xfs: inode btree block ${block}: magic mismatch`);
  const level = b.readUInt16BE(4);
  const numrecs = b.readUInt16BE(6);
  if (level !== expectedLevel) throw new Error(`xfs: inode btree block ${block}: level ${level}`);
  if (level === 0) {
    for (let i = 0; i < numrecs; i++) {
      const r = SHORT_BLOCK_HEADER + i * 16;
      yield { startIno: b.readUInt32BE(r), free: b.readBigUInt64BE(r + 8) };
    }
    return;
  }
  const maxrecs = Math.floor((g.blockSize - SHORT_BLOCK_HEADER) / 8);
  for (let i = 0; i < numrecs; i++) {
    const ptr = b.readUInt32BE(SHORT_BLOCK_HEADER + maxrecs * 4 + i * 4);
    yield* walkInobt(fh, g, agStart, ptr, level - 1);
  }
}

/** Patches the allocated inodes of one 64-inode chunk; returns how many. */
async function fixChunk(
  fh: FileHandle,
  g: Geometry,
  agStart: number,
  rec: InobtRecord,
  epoch: bigint,
): Promise<number> {
  let count = 0;
  for (let i = 0; i < 64; i++) {
    if ((rec.free >> BigInt(i)) & 1n) continue;
    const agino = rec.startIno + i;
    const agbno = agino >>> g.inoPerBlockLog;
    const index = agino & ((1 << g.inoPerBlockLog) - 1);
    const offset = agStart + agbno * g.blockSize + index * g.inodeSize;
    const ino = await readAt(fh, offset, g.inodeSize);
    if (ino.readUInt16BE(0) !== DINODE_MAGIC) throw new Error(`xfs: inode ${agino}: magic mismatch`);
    if (ino.readUInt8(4) < 3) throw new Error(`xfs: inode ${agino}: not a v3 inode`);
    const bigtime = (ino.readBigUInt64BE(120) & DIFLAG2_BIGTIME) !== 0n;
    for (const at of TIME_OFFSETS) {
      if (bigtime) ino.writeBigUInt64BE((epoch + BIGTIME_OFFSET) * 1_000_000_000n, at);
      else {
        ino.writeInt32BE(Number(epoch), at);
        ino.writeUInt32BE(0, at + 4);
      }
    }
    ino.writeUInt32LE(0, INODE_CRC_OFFSET);
    ino.writeUInt32LE(crc32c(ino), INODE_CRC_OFFSET);
    await fh.write(ino, 0, ino.length, offset);
    count++;
  }
  return count;
}

async function readAt(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, offset);
  if (bytesRead !== length) throw new Error(`xfs: short read at ${offset}`);
  return buf;
}
