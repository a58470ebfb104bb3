/** Content hashing and deterministic fake data for the fixture builder. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Hex sha256 of a byte string or text. */
export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hex sha256 of a file, streamed (kernels are tens of MB). */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * `length` bytes that look random but depend only on `seed`: fake firmware/microcode must be
 * reproducible (stable digests across rebuilds) and different per extension, arch and file.
 */
export function fakeBytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  let off = 0;
  for (let i = 0; off < length; i++) {
    const block = createHash('sha256').update(`${seed}\0${i}`).digest();
    off += block.copy(out, off);
  }
  return out;
}
