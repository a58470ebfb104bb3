/**
 * A small streaming tar reader: USTAR (with the name prefix), old GNU (base-256 numbers,
 * `L`/`K` long name/link records) and PAX (`x` per-entry and `g` global records: path,
 * linkpath, size, mtime, uid, gid, and every record kept for callers that want more, e.g.
 * SELinux labels). Members are streamed; nothing is buffered beyond one header. Sparse files
 * and other exotic types are reported as `other` so the caller decides.
 */
import { ByteSource } from './byte-source.js';

const BLOCK = 512;
/** Longest GNU long-name / PAX record block we accept (these are read into memory). */
const MAX_META_SIZE = 1 << 20;

/** A malformed archive; the message says what is wrong and where. */
export class TarFormatError extends Error {
  override readonly name = 'TarFormatError';
}

/** Kinds of tar member. */
export type TarEntryType =
  'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

/** One member; `content` must be consumed (or ignored) before the next is requested. */
export interface TarEntry {
  path: string;
  type: TarEntryType;
  /** The raw type flag byte as a character (e.g. `0`, `5`, `S`). */
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkpath: string;
  devmajor: number;
  devminor: number;
  /** PAX records that applied to this entry (global ones included). */
  pax: Readonly<Record<string, string>>;
  /** Offset of the member's header block in the archive. */
  offset: number;
  content(): AsyncIterable<Buffer>;
}

/** Yields the members of the tar stream `source` in order. */
export async function* readTar(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<TarEntry> {
  const src = new ByteSource(source);
  const globalPax: Record<string, string> = {};
  let localPax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  try {
    for (;;) {
      const offset = src.position;
      const block = await src.read(BLOCK);
      if (block.length === 0) return; // no end-of-archive marker: tolerated, like GNU tar
      if (block.length < BLOCK) throw new TarFormatError(`truncated header at offset ${offset}`);
      if (block.every((c) => c === 0)) return; // end-of-archive marker
      verifyChecksum(block, offset);
      const typeflag = String.fromCharCode(block[156] ?? 0);
      const size = readNumber(block, 124, 12, 'size', offset);
      if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
        if (size > MAX_META_SIZE)
          throw new TarFormatError(`metadata record of ${size} bytes at offset ${offset} is too large`);
        const data = await src.read(size);
        if (data.length !== size) throw new TarFormatError(`truncated metadata record at offset ${offset}`);
        await src.skip(pad(size), 'tar padding');
        if (typeflag === 'x') localPax = { ...localPax, ...parsePax(data, offset) };
        else if (typeflag === 'g') Object.assign(globalPax, parsePax(data, offset));
        else if (typeflag === 'L') longName = cString(data);
        else longLink = cString(data);
        continue;
      }
      const pax = { ...globalPax, ...localPax };
      const magic = block.subarray(257, 263).toString('latin1');
      let path = cString(block.subarray(0, 100));
      // POSIX ustar ("ustar\0") has the name prefix; old GNU ("ustar  ") uses that space for times.
      if (magic === 'ustar\0') {
        const prefix = cString(block.subarray(345, 500));
        if (prefix !== '') path = `${prefix}/${path}`;
      }
      path = pax['path'] ?? longName ?? path;
      const linkpath = pax['linkpath'] ?? longLink ?? cString(block.subarray(157, 257));
      const entrySize = pax['size'] !== undefined ? paxNumber(pax['size'], 'size', offset) : size;
      localPax = {};
      longName = undefined;
      longLink = undefined;
      const type = typeOf(typeflag, path);
      // Only regular files (and unknown types, which we must skip) carry data blocks.
      const dataSize = type === 'file' || type === 'other' ? entrySize : 0;
      const entry: TarEntry = {
        path,
        type,
        typeflag,
        mode: readNumber(block, 100, 8, 'mode', offset),
        uid:
          pax['uid'] !== undefined
            ? paxNumber(pax['uid'], 'uid', offset)
            : readNumber(block, 108, 8, 'uid', offset),
        gid:
          pax['gid'] !== undefined
            ? paxNumber(pax['gid'], 'gid', offset)
            : readNumber(block, 116, 8, 'gid', offset),
        size: dataSize,
        mtime:
          pax['mtime'] !== undefined
            ? paxTime(pax['mtime'], offset)
            : readNumber(block, 136, 12, 'mtime', offset),
        linkpath,
        devmajor: readNumber(block, 329, 8, 'devmajor', offset),
        devminor: readNumber(block, 337, 8, 'devminor', offset),
        pax,
        offset,
        content: () => asFormatErrors(src.chunks(dataSize, `tar member ${JSON.stringify(path)}`)),
      };
      const before = src.position;
      yield entry;
      const left = dataSize - (src.position - before);
      if (left > 0) await src.skip(left, `tar member ${JSON.stringify(path)}`);
      await src.skip(pad(dataSize), 'tar padding');
    }
  } catch (e) {
    if (e instanceof TarFormatError) throw e;
    throw new TarFormatError(e instanceof Error ? e.message : String(e));
  } finally {
    await src.close();
  }
}

/** Member data is read by the caller; a truncated stream must still surface as a format error. */
async function* asFormatErrors(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* chunks;
  } catch (e) {
    throw e instanceof TarFormatError ? e : new TarFormatError(e instanceof Error ? e.message : String(e));
  }
}

function typeOf(typeflag: string, path: string): TarEntryType {
  switch (typeflag) {
    case '0':
    case '\0':
    case '7':
      // Pre-POSIX archives mark directories only by the trailing slash.
      return typeflag === '\0' && path.endsWith('/') ? 'directory' : 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '5':
      return 'directory';
    case '6':
      return 'fifo';
    default:
      return 'other';
  }
}

function verifyChecksum(block: Buffer, offset: number): void {
  const stored = readNumber(block, 148, 8, 'checksum', offset);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += c;
    signed += c >= 0x80 ? c - 0x100 : c;
  }
  // Some historic writers summed signed bytes; accept both like GNU tar.
  if (stored !== unsigned && stored !== signed)
    throw new TarFormatError(`bad header checksum at offset ${offset}`);
}

/** Parses an octal field, or a GNU base-256 field when the high bit of the first byte is set. */
function readNumber(block: Buffer, start: number, length: number, field: string, offset: number): number {
  const raw = block.subarray(start, start + length);
  const first = raw[0] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) throw new TarFormatError(`negative ${field} at offset ${offset}`);
    let value = BigInt(first & 0x7f);
    for (let i = 1; i < raw.length; i++) value = (value << 8n) | BigInt(raw[i] ?? 0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER))
      throw new TarFormatError(`${field} too large at offset ${offset}`);
    return Number(value);
  }
  const text = raw.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text))
    throw new TarFormatError(`bad ${field} field ${JSON.stringify(text)} at offset ${offset}`);
  return parseInt(text, 8);
}

function paxNumber(value: string, field: string, offset: number): number {
  if (!/^\d+$/.test(value))
    throw new TarFormatError(`bad PAX ${field} ${JSON.stringify(value)} at offset ${offset}`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new TarFormatError(`PAX ${field} too large at offset ${offset}`);
  return n;
}

function paxTime(value: string, offset: number): number {
  if (!/^-?\d+(\.\d+)?$/.test(value))
    throw new TarFormatError(`bad PAX mtime ${JSON.stringify(value)} at offset ${offset}`);
  return Math.floor(Number(value));
}

/** Parses `<len> <key>=<value>\n` records. */
function parsePax(data: Buffer, offset: number): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break;
    const space = data.indexOf(0x20, pos);
    if (space < 0) throw new TarFormatError(`bad PAX record at offset ${offset}`);
    const len = Number(data.subarray(pos, space).toString('ascii'));
    if (
      !Number.isInteger(len) ||
      len <= space - pos + 1 ||
      pos + len > data.length ||
      data[pos + len - 1] !== 0x0a
    ) {
      throw new TarFormatError(`bad PAX record length at offset ${offset}`);
    }
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq <= 0) throw new TarFormatError(`bad PAX record at offset ${offset}`);
    out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}

function pad(n: number): number {
  return (BLOCK - (n % BLOCK)) % BLOCK;
}
