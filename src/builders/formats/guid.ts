/**
 * GUIDs as GPT stores them. Text form is RFC 4122 (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`); on
 * disk GPT uses the Microsoft "mixed-endian" layout: the first three fields little-endian, the
 * last eight bytes as written (errata §5).
 *
 * Talos ≥ 1.13 imagers derive the disk and partition GUIDs from labels instead of drawing them at
 * random (talos-imager §6.2 step 1): the first 16 bytes of SHA-256(16 zero bytes ‖ label), with
 * the version nibble set to 8 and the RFC 4122 variant bits. That is exactly a name-based UUID
 * (version 8) with the nil UUID as namespace.
 */
import { createHash } from 'node:crypto';

/** The disk GUID label of Talos disk images. */
export const TALOS_DISK_GUID_LABEL = 'talos-image-disk';

/** Well-known GPT partition type GUIDs (text form). */
export const PARTITION_TYPE = {
  /** EFI System Partition. */
  esp: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',
  /** BIOS boot partition (GRUB core image). */
  biosBoot: '21686148-6449-6e6f-744e-656564454649',
  /** Linux filesystem data. */
  linuxData: '0fc63daf-8483-4772-8e79-3d69d8477de4',
} as const;

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The deterministic GUID Talos derives from a label (text form, lower case). */
export function labelGuid(label: string): string {
  const digest = createHash('sha256').update(Buffer.alloc(16)).update(label, 'utf8').digest();
  const b = Buffer.from(digest.subarray(0, 16));
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return rfcBytesToText(b);
}

/** True when `text` is a GUID in canonical text form (lower or upper case hex). */
export function isGuidText(text: string): boolean {
  return GUID_RE.test(text.toLowerCase());
}

/** Encodes a text GUID into its 16-byte GPT (mixed-endian) form. */
export function guidToDisk(text: string): Buffer {
  const b = rfcTextToBytes(text);
  swapFields(b);
  return b;
}

/** Decodes 16 bytes of GPT (mixed-endian) GUID into lower-case text. */
export function guidFromDisk(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`guid: need 16 bytes, got ${bytes.length}`);
  const b = Buffer.from(bytes);
  swapFields(b);
  return rfcBytesToText(b);
}

/** The 16 bytes of a GUID in RFC 4122 (big-endian) order, e.g. for `mkfs.xfs -m uuid=`. */
export function rfcTextToBytes(text: string): Buffer {
  const t = text.toLowerCase();
  if (!GUID_RE.test(t)) throw new RangeError(`guid: ${JSON.stringify(text)} is not a GUID`);
  return Buffer.from(t.replace(/-/g, ''), 'hex');
}

function rfcBytesToText(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Reverses the byte order of the first three fields (4, 2, 2 bytes) in place. */
function swapFields(b: Buffer): void {
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
}
