/**
 * A streaming reader for newc cpio archives (`070701`, and `070702` with checksums ignored).
 * Used to pull `rootfs.sqsh` out of a decompressed Talos initramfs without holding it in memory.
 * Concatenated archives are followed across trailers and the zero padding between them.
 */
import { ByteSource } from './byte-source.js';

/** One archive member; `content` must be consumed (or left alone) before asking for the next. */
export interface CpioEntry {
  name: string;
  mode: number;
  size: number;
  nlink: number;
  mtime: number;
  inode: number;
  /** Offset of the member's data in the stream (for reading it back from a file later). */
  dataOffset: number;
  type: 'file' | 'directory' | 'symlink' | 'other';
  /** The member's bytes, streamed. */
  content(): AsyncIterable<Buffer>;
}

const HEADER_SIZE = 110;

/** Yields every member of the newc archive(s) in `source`, in order. */
export async function* readCpio(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<CpioEntry> {
  const src = new ByteSource(source);
  try {
    for (;;) {
      // Archives may be concatenated with zero fill between them (GNU pads to 512 bytes).
      const head = await readHeaderStart(src);
      if (head === undefined) return;
      const magic = head.subarray(0, 6).toString('ascii');
      if (magic !== '070701' && magic !== '070702') {
        throw new Error(`cpio: bad magic ${JSON.stringify(magic)} at offset ${src.position - HEADER_SIZE}`);
      }
      const field = (i: number): number => {
        const text = head.subarray(6 + i * 8, 14 + i * 8).toString('ascii');
        if (!/^[0-9a-fA-F]{8}$/.test(text)) throw new Error(`cpio: bad header field ${JSON.stringify(text)}`);
        return parseInt(text, 16);
      };
      const inode = field(0);
      const mode = field(1);
      const nlink = field(4);
      const mtime = field(5);
      const size = field(6);
      const nameSize = field(11);
      const rawName = await src.read(nameSize);
      if (rawName.length !== nameSize) throw new Error('cpio: truncated entry name');
      await src.skip(pad4(HEADER_SIZE + nameSize), 'cpio name padding');
      const name = rawName.subarray(0, Math.max(0, nameSize - 1)).toString('utf8');
      if (name === 'TRAILER!!!') continue;
      const entry: CpioEntry = {
        name,
        mode,
        size,
        nlink,
        mtime,
        inode,
        dataOffset: src.position,
        type: typeOf(mode),
        content: () => src.chunks(size, `cpio member ${name}`),
      };
      const before = src.position;
      yield entry;
      // Skip whatever the consumer did not read, then the data padding.
      const left = size - (src.position - before);
      if (left > 0) await src.skip(left, `cpio member ${name}`);
      await src.skip(pad4(size), 'cpio data padding');
    }
  } finally {
    await src.close();
  }
}

async function readHeaderStart(src: ByteSource): Promise<Buffer | undefined> {
  for (;;) {
    const first = await src.read(4);
    if (first.length === 0) return undefined;
    if (first.length < 4) {
      if (first.every((b) => b === 0)) return undefined;
      throw new Error('cpio: truncated header');
    }
    if (first.readUInt32BE(0) === 0) continue;
    const rest = await src.read(HEADER_SIZE - 4);
    if (rest.length !== HEADER_SIZE - 4) throw new Error('cpio: truncated header');
    return Buffer.concat([first, rest]);
  }
}

function typeOf(mode: number): CpioEntry['type'] {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'directory';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}
