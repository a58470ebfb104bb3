/** Recognising compressed streams and archives by their first bytes. */
import { open } from 'node:fs/promises';

/** What a byte stream starts with. */
export type StreamKind = 'xz' | 'zstd' | 'gzip' | 'cpio' | 'tar' | 'unknown';

/** Classifies `head` (at least the first 263 bytes for tar detection). */
export function detectStreamKind(head: Uint8Array): StreamKind {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])))
    return 'xz';
  if (b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.length >= 6 && /^07070[12]$/.test(b.subarray(0, 6).toString('latin1'))) return 'cpio';
  if (b.length >= 263 && b.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return 'unknown';
}

/** Reads the first bytes of a file and classifies them. */
export async function detectFileKind(path: string): Promise<StreamKind> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return detectStreamKind(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}
