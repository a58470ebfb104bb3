/**
 * Copies only the data of a file into another file at an offset: only the source's data extents
 * are read (SEEK_DATA/SEEK_HOLE via `xfs_io`, see tools/xfs-io.ts), and within them every 4 KiB
 * block that is all zero is skipped too, so holes stay holes in the target (which was
 * `truncate`d to its size and is zero wherever nothing is written) and zero blocks tools wrote
 * explicitly (mkfs.xfs zeroes its log) are not copied either.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { Extent } from '../tools/xfs-io.js';

/** Granularity of hole detection (the page and file-system block size). */
export const SPARSE_BLOCK = 4096;
const CHUNK = 4 * 1024 * 1024;
const ZERO = Buffer.alloc(SPARSE_BLOCK);

/** Bytes read and written by a copy. */
export interface CopyStats {
  bytesRead: number;
  bytesWritten: number;
}

/**
 * Copies the non-zero blocks of `src` into `dst` at `dstOffset`; `src` must fit in `maxBytes`.
 * `extents` (default: the whole file) limits what is read.
 */
export async function copyDataBlocks(
  src: string,
  dst: FileHandle,
  dstOffset: number,
  maxBytes: number,
  options: { extents?: readonly Extent[]; signal?: AbortSignal } = {},
): Promise<CopyStats> {
  const fh = await open(src, 'r');
  try {
    const { size } = await fh.stat();
    if (size > maxBytes) throw new RangeError(`${size}-byte image does not fit a ${maxBytes}-byte partition`);
    const buf = Buffer.alloc(CHUNK);
    const stats: CopyStats = { bytesRead: 0, bytesWritten: 0 };
    for (const extent of options.extents ?? [{ start: 0, end: size }]) {
      // Block-align the start so zero detection sees whole blocks.
      const end = Math.min(size, extent.end);
      for (let pos = Math.floor(extent.start / SPARSE_BLOCK) * SPARSE_BLOCK; pos < end;) {
        if (options.signal?.aborted) throw options.signal.reason;
        const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, end - pos), pos);
        if (bytesRead === 0) break;
        stats.bytesRead += bytesRead;
        stats.bytesWritten += await writeDataRuns(dst, buf.subarray(0, bytesRead), dstOffset + pos);
        pos += bytesRead;
      }
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
