/**
 * Copies only the data of a file into another file at an offset: the source is read in large
 * chunks and every 4 KiB block that is all zero is skipped, so holes stay holes in the target
 * (which was `truncate`d to its size and is zero wherever nothing is written). Node has no
 * SEEK_DATA; reading a hole costs a memory fill, not disk I/O, so this stays cheap even for the
 * 2 GiB BOOT image, and it also drops zero blocks tools wrote explicitly (mkfs.xfs zeroes its log).
 */
import { open, type FileHandle } from 'node:fs/promises';

/** Granularity of hole detection (the page and file-system block size). */
export const SPARSE_BLOCK = 4096;
const CHUNK = 4 * 1024 * 1024;
const ZERO = Buffer.alloc(SPARSE_BLOCK);

/** Bytes read and written by a copy. */
export interface CopyStats {
  bytesRead: number;
  bytesWritten: number;
}

/** Copies the non-zero blocks of `src` into `dst` at `dstOffset`; `src` must fit in `maxBytes`. */
export async function copyDataBlocks(
  src: string,
  dst: FileHandle,
  dstOffset: number,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<CopyStats> {
  const fh = await open(src, 'r');
  try {
    const { size } = await fh.stat();
    if (size > maxBytes) throw new RangeError(`${size}-byte image does not fit a ${maxBytes}-byte partition`);
    const buf = Buffer.alloc(CHUNK);
    const stats: CopyStats = { bytesRead: 0, bytesWritten: 0 };
    for (let pos = 0; pos < size;) {
      signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, size - pos), pos);
      if (bytesRead === 0) break;
      stats.bytesRead += bytesRead;
      stats.bytesWritten += await writeDataRuns(dst, buf.subarray(0, bytesRead), dstOffset + pos);
      pos += bytesRead;
    }
    return stats;
  } finally {
    await fh.close();
  }
}

/** Writes the non-zero block runs of `data` to `dst` at `offset`; returns bytes written. */
export async function writeDataRuns(dst: FileHandle, data: Buffer, offset: number): Promise<number> {
  let written = 0;
  let runStart = -1;
  const flush = async (end: number): Promise<void> => {
    const run = data.subarray(runStart, end);
    await writeAll(dst, run, offset + runStart);
    written += run.length;
    runStart = -1;
  };
  for (let at = 0; at < data.length; at += SPARSE_BLOCK) {
    const isData = !isZero(data.subarray(at, Math.min(at + SPARSE_BLOCK, data.length)));
    if (isData && runStart < 0) runStart = at;
    else if (!isData && runStart >= 0) await flush(at);
  }
  if (runStart >= 0) await flush(data.length);
  return written;
}

function isZero(b: Buffer): boolean {
  return b.length === SPARSE_BLOCK ? b.equals(ZERO) : b.every((x) => x === 0);
}

async function writeAll(dst: FileHandle, data: Buffer, offset: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await dst.write(data, done, data.length - done, offset + done);
    done += bytesWritten;
  }
}
