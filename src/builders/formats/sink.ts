/** Writing to a Node stream with backpressure, shared by the archive writers. */
import type { Writable } from 'node:stream';

/** Something that accepts bytes and may ask the producer to wait. */
export type ByteSink = Writable | ((chunk: Buffer) => Promise<void> | void);

/** Writes `chunk` to `sink`, waiting for `drain` when a stream's buffer is full. */
export async function writeTo(sink: ByteSink, chunk: Buffer): Promise<void> {
  if (chunk.length === 0) return;
  if (typeof sink === 'function') {
    await sink(chunk);
    return;
  }
  if (sink.destroyed) throw sink.errored ?? new Error('write after the output stream was closed');
  if (sink.write(chunk)) return;
  // Listeners are removed on every outcome so no promise is left to reject unobserved later.
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      sink.off('drain', onDrain);
      sink.off('error', onError);
      sink.off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const onClose = (): void => {
      cleanup();
      reject(sink.errored ?? new Error('output stream closed before all data was written'));
    };
    sink.on('drain', onDrain);
    sink.on('error', onError);
    sink.on('close', onClose);
  });
}
