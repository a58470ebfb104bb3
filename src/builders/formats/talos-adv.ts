/**
 * The Talos ADV ("META" partition key/value store, talos-imager §6.1 + errata E7). Layout of one
 * 256 KiB copy, all big-endian: magic1 `0x5a4b3c2d`; records `u32 tag, u32 length, value`; zero
 * fill; at −36 a SHA-256 of the whole copy computed with those 32 bytes zeroed (magic2 in place);
 * magic2 `0xa5b4c3d2` in the last 4 bytes. The copy is written twice. The rest of the partition
 * (where the legacy syslinux ADV would live) stays zero, as in fresh upstream images.
 *
 * Upstream writes records in Go map-iteration order, which is random, so Talos' own META bytes
 * are not reproducible. We write records sorted by tag ascending: same content, stable bytes.
 */
import { createHash } from 'node:crypto';

/** Bytes of one ADV copy. */
export const ADV_COPY_BYTES = 256 * 1024;
/** Both copies. */
export const ADV_BYTES = 2 * ADV_COPY_BYTES;
const MAGIC1 = 0x5a4b3c2d;
const MAGIC2 = 0xa5b4c3d2;
/** Record area: after magic1, before checksum + magic2. */
const DATA_START = 4;
const DATA_END = ADV_COPY_BYTES - 36;
/** Talos' capacity rule (`SetTagBytes`): 20 + Σ(len + 8) must not exceed copy size − 40. */
const CAPACITY = ADV_COPY_BYTES - 40;
/** A tag of 0 ends the record list when reading (Talos `adv.End`). */
const END_TAG = 0;

/** Well-known META keys (Talos `pkg/machinery/meta/constants.go`). */
export const META_KEY = {
  upgrade: 0x06,
  stagedUpgradeImageRef: 0x07,
  stagedUpgradeInstallOptions: 0x08,
  stateEncryptionConfig: 0x09,
  metalNetworkPlatformConfig: 0x0a,
  downloadUrlCode: 0x0b,
  uuidOverride: 0x0f,
  uniqueMachineToken: 0x10,
  diskImageBootloader: 0x11,
} as const;

/** One key/value; later duplicates of a key replace earlier ones (Talos `SetTag`). */
export interface AdvRecord {
  tag: number;
  value: Buffer | string;
}

/** Both ADV copies (512 KiB) holding `records`; throws RangeError when they do not fit. */
export function encodeTalosAdv(records: readonly AdvRecord[]): Buffer {
  const tags = new Map<number, Buffer>();
  for (const r of records) {
    if (!Number.isInteger(r.tag) || r.tag < 0 || r.tag > 255) throw new RangeError(`adv: tag ${r.tag}`);
    tags.set(r.tag, Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value, 'utf8'));
  }
  const sorted = [...tags.entries()].sort(([a], [b]) => a - b);
  const used = 20 + sorted.reduce((n, [, v]) => n + v.length + 8, 0);
  if (used > CAPACITY) throw new RangeError(`adv: values need ${used} bytes, META holds ${CAPACITY}`);
  const copy = Buffer.alloc(ADV_COPY_BYTES);
  copy.writeUInt32BE(MAGIC1, 0);
  copy.writeUInt32BE(MAGIC2, ADV_COPY_BYTES - 4);
  let at = DATA_START;
  for (const [tag, value] of sorted) {
    copy.writeUInt32BE(tag, at);
    copy.writeUInt32BE(value.length, at + 4);
    value.copy(copy, at + 8);
    at += 8 + value.length;
  }
  createHash('sha256').update(copy).digest().copy(copy, DATA_END);
  return Buffer.concat([copy, copy]);
}

/** Result of reading an ADV: the records of the first valid copy and which copy that was. */
export interface DecodedAdv {
  records: { tag: number; value: Buffer }[];
  copy: 0 | 1;
}

/** Reads an ADV (either copy may be damaged); throws Error naming the defect of both. */
export function decodeTalosAdv(bytes: Buffer): DecodedAdv {
  const errors: string[] = [];
  for (const copy of [0, 1] as const) {
    const start = copy * ADV_COPY_BYTES;
    try {
      return { records: decodeCopy(bytes.subarray(start, start + ADV_COPY_BYTES)), copy };
    } catch (e) {
      errors.push(`copy ${copy}: ${(e as Error).message}`);
    }
  }
  throw new Error(`adv: no valid copy (${errors.join('; ')})`);
}

function decodeCopy(buf: Buffer): { tag: number; value: Buffer }[] {
  if (buf.length !== ADV_COPY_BYTES) throw new Error('short read');
  if (buf.readUInt32BE(0) !== MAGIC1) throw new Error('magic1 mismatch');
  if (buf.readUInt32BE(ADV_COPY_BYTES - 4) !== MAGIC2) throw new Error('magic2 mismatch');
  const check = Buffer.from(buf);
  check.fill(0, DATA_END, DATA_END + 32);
  const sum = createHash('sha256').update(check).digest();
  if (!sum.equals(buf.subarray(DATA_END, DATA_END + 32))) throw new Error('checksum mismatch');
  const out: { tag: number; value: Buffer }[] = [];
  let at = DATA_START;
  while (DATA_END - at >= 8) {
    const tag = buf.readUInt32BE(at);
    if (tag === END_TAG) break;
    const size = buf.readUInt32BE(at + 4);
    if (at + 8 + size > DATA_END) throw new Error(`value of tag ${tag} runs past the end`);
    out.push({ tag, value: Buffer.from(buf.subarray(at + 8, at + 8 + size)) });
    at += 8 + size;
  }
  return out;
}
