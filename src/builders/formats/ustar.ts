/**
 * A USTAR writer that reproduces Go `archive/tar` bytes for USTAR-representable headers (errata
 * §3): numeric fields as zero-padded octal followed by NUL (uid/gid/mtime/devmajor/devminor
 * included, so `0000000\0`), magic `ustar\0` + version `00`, empty uname/gname, checksum
 * `%06o\0 `, 512-byte blocks, and exactly two zero blocks at the end (no record padding, which
 * is what makes Python's tarfile output differ).
 */

const BLOCK = 512;

/** Entry kinds and their USTAR type flags. */
const TYPEFLAGS = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  directory: '5',
  fifo: '6',
} as const;

/** One archive member. Names are written as given (no normalisation), so tests can craft any path. */
export interface UstarEntry {
  name: string;
  type: keyof typeof TYPEFLAGS;
  mode: number;
  /** File contents (regular files only). */
  data?: Buffer;
  /** Target of a symlink or hardlink. */
  linkname?: string;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch; default 0. */
  mtime?: number;
  devmajor?: number;
  devminor?: number;
}

/** Builds a whole archive in memory (the archives we write are a few KiB). */
export function ustarArchive(entries: readonly UstarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.type === 'file' ? (entry.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    parts.push(ustarHeader(entry, data.length));
    if (data.length > 0) {
      parts.push(data);
      const rem = data.length % BLOCK;
      if (rem !== 0) parts.push(Buffer.alloc(BLOCK - rem));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** Encodes one 512-byte header block the way Go's tar.Writer does for a USTAR header. */
export function ustarHeader(entry: UstarEntry, size: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  const [prefix, name] = splitName(entry.name);
  putString(b, 0, 100, name, 'name');
  putOctal(b, 100, 8, entry.mode & 0o7777, 'mode');
  putOctal(b, 108, 8, entry.uid ?? 0, 'uid');
  putOctal(b, 116, 8, entry.gid ?? 0, 'gid');
  putOctal(b, 124, 12, size, 'size');
  putOctal(b, 136, 12, entry.mtime ?? 0, 'mtime');
  b.write(TYPEFLAGS[entry.type], 156, 'ascii');
  putString(b, 157, 100, entry.linkname ?? '', 'linkname');
  b.write('ustar\0', 257, 'ascii');
  b.write('00', 263, 'ascii');
  putOctal(b, 329, 8, entry.devmajor ?? 0, 'devmajor');
  putOctal(b, 337, 8, entry.devminor ?? 0, 'devminor');
  putString(b, 345, 155, prefix, 'prefix');
  // The checksum is computed with its own field read as eight spaces, then written as
  // six octal digits, NUL, and the space that was already there.
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\0', 148, 'ascii');
  return b;
}

/** Splits a long name into USTAR prefix + name at a slash, as Go does; throws if impossible. */
function splitName(full: string): [string, string] {
  if (Buffer.byteLength(full) <= 100) return ['', full];
  const limit = Math.min(full.length - 1, 156);
  for (let i = limit; i > 0; i--) {
    if (full[i] !== '/') continue;
    const prefix = full.slice(0, i);
    const name = full.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '')
      return [prefix, name];
  }
  throw new Error(`ustar: name ${JSON.stringify(full)} does not fit a USTAR header`);
}

function putString(b: Buffer, offset: number, length: number, value: string, field: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.some((c) => c >= 0x80 || c === 0))
    throw new Error(`ustar: ${field} ${JSON.stringify(value)} must be ASCII without NUL`);
  if (bytes.length > length)
    throw new Error(`ustar: ${field} ${JSON.stringify(value)} is longer than ${length} bytes`);
  bytes.copy(b, offset);
}

function putOctal(b: Buffer, offset: number, length: number, value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`ustar: ${field} ${value} must be a non-negative integer`);
  const digits = value.toString(8);
  if (digits.length > length - 1)
    throw new Error(`ustar: ${field} ${value} does not fit ${length - 1} octal digits`);
  b.write(digits.padStart(length - 1, '0') + '\0', offset, 'ascii');
}
