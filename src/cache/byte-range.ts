/**
 * Byte ranges over asset streams: validating a requested range against the asset size, and cutting
 * a range out of a stream of the whole asset (for sources that cannot seek, such as a registry
 * blob read through the verifying client).
 */
import { Readable } from 'node:stream';
import { FactoryError } from '../errors.js';

/** An inclusive byte range, as `CachedAsset.open` takes it. */
export interface InclusiveRange {
  readonly start: number;
  readonly end: number;
}

/** Throws RANGE_NOT_SATISFIABLE unless `0 <= start <= end < size`. */
export function assertRange(range: InclusiveRange, size: number, what: string): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= size) {
    throw new FactoryError(
      'RANGE_NOT_SATISFIABLE',
      `${what}: range ${start}-${end} is outside its ${size} bytes`,
      {
        headers: { 'Content-Range': `bytes */${size}` },
      },
    );
  }
}

async function* slice(
  source: AsyncIterable<Buffer>,
  range: InclusiveRange,
  size: number,
  what: string,
): AsyncGenerator<Buffer, void, undefined> {
  let position = 0;
  for await (const chunk of source) {
    const next = position + chunk.length;
    if (next > range.start && position <= range.end) {
      yield chunk.subarray(
        Math.max(0, range.start - position),
        Math.min(chunk.length, range.end + 1 - position),
      );
    }
    position = next;
    // Stop early only when bytes remain: a range ending at the last byte reads the source to its
    // end, so a verifying source still gets to report a digest mismatch to the consumer.
    if (position > range.end && position < size) return;
  }
  if (position <= range.end) {
    throw new FactoryError(
      'UPSTREAM_UNAVAILABLE',
      `${what}: stream ended at byte ${position}, before range end ${range.end}`,
    );
  }
}

/**
 * Streams bytes `range.start..range.end` of `source` (the whole `size`-byte asset). Leaving the loop
 * early destroys `source`, which cancels its transfer.
 */
export function sliceStream(source: Readable, range: InclusiveRange, size: number, what: string): Readable {
  return Readable.from(slice(source, range, size, what), { objectMode: false });
}
