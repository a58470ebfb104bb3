/**
 * A streaming writer for the "newc" cpio format (magic `070701`), the format the Linux kernel
 * unpacks as initramfs. Output matches GNU `cpio -H newc -o --reproducible -R +0:+0` for the same
 * entries and metadata: upper-case hex fields, inode numbers counting up from 0, device fields 0,
 * owner 0:0, header+name and data each padded to 4 bytes, `TRAILER!!!` with nlink 1, and the whole
 * archive zero-padded to a 512-byte multiple (errata E2). Only mtime differs on purpose: it is a
 * fixed value here (0 or SOURCE_DATE_EPOCH), so archives are reproducible.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type ByteSink, writeTo } from './sink.js';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const HEADER_SIZE = 110;
const MAX_FIELD = 0xffffffff;

/** Options for a whole archive. */
export interface CpioWriterOptions {
  /** Modification time (seconds since the epoch) written for every entry; default 0. */
  mtime?: number;
  /** Zero-pad the finished archive to a multiple of this (GNU cpio uses 512); 1 disables. */
  padTo?: number;
}

/** Per-entry overrides. */
export interface CpioEntryOptions {
  /** Permission bits (the file type is added by the writer). */
  mode?: number;
  /** Link count; defaults to 2 for directories and 1 otherwise. */
  nlink?: number;
}

/**
 * Where a regular file's bytes come from: a buffer, a file, `size` bytes of a file from `start`,
 * or `size` bytes from an iterable of chunks.
 */
export type CpioFileContent =
  Buffer | { path: string; start?: number; size?: number } | { size: number; chunks: AsyncIterable<Buffer> };

interface HeaderFields {
  mode: number;
  nlink: number;
  size: number;
  name: string;
}

/** Writes a newc archive entry by entry to a stream or callback. */
export class CpioWriter {
  private readonly sink: ByteSink;
  private readonly mtime: number;
  private readonly padTo: number;
  private nextInode = 0;
  private written = 0;
  private finished = false;

  constructor(sink: ByteSink, options: CpioWriterOptions = {}) {
    this.sink = sink;
    this.mtime = options.mtime ?? 0;
    this.padTo = options.padTo ?? 512;
    if (!Number.isInteger(this.mtime) || this.mtime < 0 || this.mtime > MAX_FIELD) {
      throw new RangeError(`cpio: mtime ${this.mtime} does not fit the newc header`);
    }
  }

  /** Bytes written so far. */
  get bytesWritten(): number {
    return this.written;
  }

  /** Adds a directory entry. */
  async directory(name: string, options: CpioEntryOptions = {}): Promise<void> {
    await this.header({
      name,
      mode: S_IFDIR | perm(options.mode ?? 0o755),
      nlink: options.nlink ?? 2,
      size: 0,
    });
  }

  /** Adds a regular file whose bytes come from a buffer or are streamed from a path. */
  async file(name: string, content: CpioFileContent, options: CpioEntryOptions = {}): Promise<void> {
    const mode = S_IFREG | perm(options.mode ?? 0o644);
    const nlink = options.nlink ?? 1;
    if (Buffer.isBuffer(content)) {
      await this.header({ name, mode, nlink, size: content.length });
      await this.emit(content);
      await this.pad4();
      return;
    }
    let size: number;
    let stream: AsyncIterable<Buffer> | Iterable<Buffer>;
    let what: string;
    if ('chunks' in content) {
      ({ size } = content);
      stream = content.chunks;
      what = name;
    } else {
      const start = content.start ?? 0;
      size = content.size ?? (await stat(content.path)).size - start;
      stream =
        size === 0
          ? []
          : (createReadStream(content.path, {
              start,
              end: start + size - 1,
              highWaterMark: 1 << 20,
            }) as AsyncIterable<Buffer>);
      what = content.path;
    }
    await this.header({ name, mode, nlink, size });
    let copied = 0;
    for await (const chunk of stream) {
      copied += chunk.length;
      // A file that grows while it is archived would corrupt every following header.
      if (copied > size) throw new Error(`cpio: ${what} grew while being archived`);
      await this.emit(chunk);
    }
    if (copied !== size) throw new Error(`cpio: ${what} shrank while being archived`);
    await this.pad4();
  }

  /** Adds a symbolic link; the target is stored as the entry's data. */
  async symlink(name: string, target: string, options: CpioEntryOptions = {}): Promise<void> {
    const data = Buffer.from(target, 'utf8');
    await this.header({
      name,
      mode: S_IFLNK | perm(options.mode ?? 0o777),
      nlink: options.nlink ?? 1,
      size: data.length,
    });
    await this.emit(data);
    await this.pad4();
  }

  /** Writes the trailer and the final zero padding; returns the archive's total size. */
  async finish(): Promise<number> {
    if (this.finished) return this.written;
    // GNU cpio's trailer carries inode 0 and nlink 1 whatever the numbering reached.
    await this.rawHeader(0, { name: 'TRAILER!!!', mode: 0, nlink: 1, size: 0 });
    this.finished = true;
    if (this.padTo > 1) {
      const rem = this.written % this.padTo;
      if (rem !== 0) await this.emit(Buffer.alloc(this.padTo - rem));
    }
    return this.written;
  }

  private async header(fields: HeaderFields): Promise<void> {
    if (this.finished) throw new Error('cpio: entry added after finish()');
    if (fields.name === '' || fields.name.includes('\0'))
      throw new Error(`cpio: invalid entry name ${JSON.stringify(fields.name)}`);
    if (fields.name === 'TRAILER!!!') throw new Error('cpio: entry name TRAILER!!! is reserved');
    if (fields.size > MAX_FIELD)
      throw new Error(`cpio: ${fields.name} is larger than newc allows (${fields.size} bytes)`);
    await this.rawHeader(this.nextInode++, fields);
  }

  private async rawHeader(inode: number, f: HeaderFields): Promise<void> {
    const name = Buffer.from(f.name, 'utf8');
    const values = [inode, f.mode, 0, 0, f.nlink, this.mtime, f.size, 0, 0, 0, 0, name.length + 1, 0];
    const head = '070701' + values.map((v) => v.toString(16).toUpperCase().padStart(8, '0')).join('');
    const total = align4(HEADER_SIZE + name.length + 1);
    const buf = Buffer.alloc(total);
    buf.write(head, 0, 'ascii');
    name.copy(buf, HEADER_SIZE);
    await this.emit(buf);
  }

  private async pad4(): Promise<void> {
    const rem = this.written % 4;
    if (rem !== 0) await this.emit(Buffer.alloc(4 - rem));
  }

  private async emit(chunk: Buffer): Promise<void> {
    await writeTo(this.sink, chunk);
    this.written += chunk.length;
  }
}

function perm(mode: number): number {
  return mode & 0o7777;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
