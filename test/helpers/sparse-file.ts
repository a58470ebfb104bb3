/**
 * Sparse writes for big test downloads: disk images are mostly zeros (an 8 GiB fixed VHD, a
 * 2 GiB raw decompressed from `.xz`), so all-zero chunks are skipped (holes) instead of written —
 * the file has the exact bytes served and costs only its data blocks in the temp dir.
 */
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { FactoryError } from '../../src/errors.js';

const ZERO = Buffer.alloc(1 << 20);

function isZero(b: Buffer): boolean {
  for (let o = 0; o < b.length; o += ZERO.length) {
    const part = b.subarray(o, Math.min(b.length, o + ZERO.length));
    if (!part.equals(ZERO.subarray(0, part.length))) return false;
  }
  return true;
}

/** Writes `src` to `dest` (created or truncated), leaving holes for all-zero chunks; returns the size. */
export async function writeSparse(src: AsyncIterable<Uint8Array>, dest: string): Promise<number> {
  const fh = await open(dest, 'w');
  try {
    let pos = 0;
    for await (const chunk of src) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      if (!isZero(b)) await fh.write(b, 0, b.length, pos);
      pos += b.length;
    }
    await fh.truncate(pos);
    return pos;
  } finally {
    await fh.close();
  }
}

/** GETs `url` into `dest` sparsely; rejects unless the answer is 200. Returns the response headers. */
export async function downloadSparse(url: string, dest: string): Promise<{ headers: Headers; size: number }> {
  const res = await fetch(url);
  if (res.status !== 200 || !res.body) {
    throw new FactoryError('BUILD_FAILED', `GET ${url}: ${res.status} ${await res.text()}`);
  }
  const size = await writeSparse(res.body as AsyncIterable<Uint8Array>, dest);
  return { headers: res.headers, size };
}

/** Decompresses with `<tool> -dc src` (xz, zstd, gzip) into a sparse `dest`; returns the size. */
export async function decompressSparse(
  tool: 'xz' | 'zstd' | 'gzip',
  src: string,
  dest: string,
): Promise<number> {
  const child = spawn(tool, ['-dc', src], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    const size = await writeSparse(child.stdout as Readable, dest);
    const code = await exited;
    if (code !== 0) throw new FactoryError('BUILD_FAILED', `${tool} -dc ${src} exited ${code}: ${stderr}`);
    return size;
  } finally {
    child.kill();
  }
}
