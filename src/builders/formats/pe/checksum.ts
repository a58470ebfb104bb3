/**
 * The PE image checksum (the optional header's CheckSum field, as computed by Microsoft's
 * `CheckSumMappedFile`): the 16-bit one's-complement sum, with end-around carry, of the file taken
 * as little-endian 16-bit words with the CheckSum field itself read as zero, plus the file length.
 *
 * The folded sum depends only on the plain integer sum of all words, never on their order, so the
 * accumulator can be fed in any order: e.g. a header field patched after the data was summed is
 * added at the end ({@link PeChecksum.addWordsAt}). Feeding is streaming and allocation-free.
 */

/** Streaming accumulator for the PE checksum. */
export class PeChecksum {
  private sum = 0;
  /** A low byte waiting for its high byte (feeding split at an odd offset). */
  private pendingLow: number | undefined;
  private length = 0;

  /** Adds the next bytes of the file, in file order (chunks may split anywhere). */
  update(chunk: Uint8Array): void {
    let i = 0;
    const n = chunk.length;
    this.length += n;
    if (n === 0) return;
    if (this.pendingLow !== undefined) {
      this.add(this.pendingLow | (chunk[0]! << 8));
      this.pendingLow = undefined;
      i = 1;
    }
    let s = this.sum;
    // Fold every 32 K words so the plain sum stays far below 2^53.
    let sinceFold = 0;
    for (; i + 1 < n; i += 2) {
      s += chunk[i]! | (chunk[i + 1]! << 8);
      if (++sinceFold === 32768) {
        s = (s & 0xffff) + Math.floor(s / 0x10000);
        sinceFold = 0;
      }
    }
    this.sum = s;
    this.fold();
    if (i < n) this.pendingLow = chunk[i]!;
  }

  /** Adds `count` zero bytes in file order (e.g. a skipped field or padding). */
  updateZeros(count: number): void {
    if (count <= 0) return;
    this.length += count;
    if (this.pendingLow !== undefined) {
      this.add(this.pendingLow);
      this.pendingLow = undefined;
    }
    // An odd count leaves a zero low byte pending; its high byte comes with the next data.
    if (count % 2 === 1) this.pendingLow = 0;
  }

  /**
   * Adds bytes that were fed as zeros before (a field patched later). `offset` is their file
   * offset, which decides how bytes pair into words. The file length is not changed.
   */
  addWordsAt(offset: number, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      const value = (offset + i) % 2 === 0 ? bytes[i]! : bytes[i]! << 8;
      this.add(value);
    }
  }

  /** The checksum of everything fed so far (a trailing odd byte counts as a word with high byte 0). */
  digest(): number {
    let s = this.sum;
    if (this.pendingLow !== undefined) s += this.pendingLow;
    s = (s & 0xffff) + Math.floor(s / 0x10000);
    s = (s & 0xffff) + (s >>> 16);
    return (s + this.length) >>> 0;
  }

  /** Bytes fed so far. */
  get size(): number {
    return this.length;
  }

  private add(word: number): void {
    this.sum += word;
    this.fold();
  }

  private fold(): void {
    let s = this.sum;
    while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
    this.sum = s;
  }
}

/** The checksum of a whole in-memory image (for tests and small files). */
export function peChecksum(image: Uint8Array, checkSumOffset: number): number {
  const c = new PeChecksum();
  c.update(image.subarray(0, checkSumOffset));
  c.updateZeros(4);
  c.update(image.subarray(checkSumOffset + 4));
  return c.digest();
}
