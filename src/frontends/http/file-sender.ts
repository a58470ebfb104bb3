/**
 * Sends a byte range of a local file as a response body with reused read buffers. Streaming a file
 * through `fs.createReadStream` allocates a fresh buffer per chunk; in a process with a real heap
 * that external memory triggers a full mark-compact every few dozen MiB served (measured: ~10 per
 * second, 8–57 ms each, at 1 GiB/s) plus page faults on every fresh buffer. Here each response
 * reads into two buffers taken from a pool and writes them in turn; a buffer is read into again
 * only after the socket has taken its previous bytes (the write callback), so nothing is copied
 * twice and nothing is allocated per chunk.
 */
import type { FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';

/** Fixed-size buffers kept for reuse, at most `maxIdle` of them when nobody uses them. */
export class BufferPool {
  readonly #idle: Buffer[] = [];

  constructor(
    readonly chunkBytes: number,
    private readonly maxIdle: number,
  ) {}

  /** A buffer of `chunkBytes` (reused when one is free). */
  take(): Buffer {
    return this.#idle.pop() ?? Buffer.allocUnsafeSlow(this.chunkBytes);
  }

  /** Hands a buffer back; beyond `maxIdle` free ones it is left to the garbage collector. */
  give(buffer: Buffer): void {
    if (this.#idle.length < this.maxIdle && buffer.length === this.chunkBytes) this.#idle.push(buffer);
  }

  /** Free buffers held (for tests). */
  get idle(): number {
    return this.#idle.length;
  }
}

/** Resolves once `res` has handed `chunk` to the kernel; rejects when the connection is gone. */
function write(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const onClose = (): void => reject(new Error('client connection closed'));
    res.once('close', onClose);
    res.write(chunk, (e) => {
      res.off('close', onClose);
      if (e) reject(e);
      else resolve();
    });
  });
}

/**
 * Writes bytes `[start, end]` (inclusive) of the open file `fh` to `res` and ends it. The file is
 * read ahead by one chunk while the previous one is written. Rejects (after destroying `res`, so
 * the client sees a cut transfer, never a short body passed off as whole) when a read fails or the
 * file ends early; resolves quietly when the client goes away.
 */
export async function sendFileRange(
  res: ServerResponse,
  fh: FileHandle,
  start: number,
  end: number,
  pool: BufferPool,
): Promise<void> {
  const buffers = [pool.take(), pool.take()] as const;
  let pending: Promise<void> | undefined;
  let clientGone = false;
  try {
    let position = start;
    for (let i = 0; position <= end; i ^= 1) {
      const buffer = buffers[i] as Buffer;
      const length = Math.min(buffer.length, end - position + 1);
      const { bytesRead } = await fh.read(buffer, 0, length, position);
      if (bytesRead === 0) throw new Error(`file ended at byte ${position}, before ${end + 1}`);
      // The other buffer's write must be done before the next read reuses it.
      if (pending) await pending;
      pending = write(res, buffer.subarray(0, bytesRead));
      // Observed at once: a write failing while the next read runs must not be an unhandled rejection.
      pending.catch(() => undefined);
      position += bytesRead;
    }
    if (pending) await pending;
    res.end();
  } catch (e) {
    clientGone = res.destroyed || res.writableEnded;
    // Wait for the write in flight to settle before its buffer goes back to the pool.
    await pending?.catch(() => undefined);
    res.destroy();
    if (!clientGone) throw e;
  } finally {
    pool.give(buffers[0]);
    pool.give(buffers[1]);
  }
}
