/**
 * A streaming tar writer for regular files and directories (image layers, docker archives): each member's
 * bytes are streamed from their source with backpressure, never held in memory. Headers are
 * {@link ustarHeader}'s Go `archive/tar` bytes, so an archive of files with zeroed metadata is
 * byte-identical to what Go writes for the same names and sizes.
 */
import { ustarHeader } from './ustar.js';
import { type ByteSink, writeTo } from './sink.js';

const BLOCK = 512;

/** A regular file to append: its name, exact size and bytes (streamed). */
export interface TarFileSpec {
  readonly name: string;
  readonly size: number;
  /** Permission bits (default 0: Talos' artifact layers leave mode, uid, gid and mtime zero). */
  readonly mode?: number;
  readonly content: AsyncIterable<Uint8Array> | Uint8Array;
}

/** Appends regular files to a tar stream and finishes it with Go's two zero blocks. */
export class TarStreamWriter {
  readonly #sink: ByteSink;
  #bytes = 0;

  constructor(sink: ByteSink) {
    this.#sink = sink;
  }

  /** Bytes written so far (the offset of the next member's header). */
  get position(): number {
    return this.#bytes;
  }

  async #write(chunk: Buffer): Promise<void> {
    this.#bytes += chunk.length;
    await writeTo(this.#sink, chunk);
  }

  /** Appends one file; returns the offset of its data in the archive. Fails if the size is wrong. */
  async addFile(spec: TarFileSpec): Promise<number> {
    await this.#write(ustarHeader({ name: spec.name, type: 'file', mode: spec.mode ?? 0 }, spec.size));
    const dataOffset = this.#bytes;
    let written = 0;
    const chunks = spec.content instanceof Uint8Array ? [spec.content] : spec.content;
    for await (const chunk of chunks) {
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      written += buf.length;
      if (written > spec.size)
        throw new Error(`tar: ${spec.name} is longer than its declared ${spec.size} bytes`);
      await this.#write(buf);
    }
    if (written !== spec.size)
      throw new Error(`tar: ${spec.name} ended after ${written} of its declared ${spec.size} bytes`);
    const rem = spec.size % BLOCK;
    if (rem !== 0) await this.#write(Buffer.alloc(BLOCK - rem));
    return dataOffset;
  }

  /** Appends a directory entry (Go writes no trailing slash and no size). */
  async addDirectory(name: string, mode: number): Promise<void> {
    await this.#write(ustarHeader({ name, type: 'directory', mode }, 0));
  }

  /** Writes the end-of-archive marker (two zero blocks, no record padding, as Go does). */
  async finish(): Promise<void> {
    await this.#write(Buffer.alloc(2 * BLOCK));
  }
}
