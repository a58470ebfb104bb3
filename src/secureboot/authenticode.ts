/**
 * Authenticode signing of PE32+ images (talos-imager.md §5.5, errata §4 "Authenticode"), the
 * same result class as `sbsign`:
 *
 * - image hash (SHA-256) as the PE/COFF Authenticode specification defines it: the headers up to
 *   SizeOfHeaders without the CheckSum field and the certificate-table directory entry, then each
 *   section's raw data in file order, then any data after SUM_OF_BYTES_HASHED up to the
 *   certificate table — including the zero padding that aligns the table to 8 bytes;
 * - PKCS#7 SignedData over SpcIndirectDataContent(SpcPeImageData, DigestInfo) with the signer's
 *   certificate; signed attributes contentType, SpcSpOpusInfo (empty) and messageDigest;
 * - WIN_CERTIFICATE (revision 0x0200, type PKCS_SIGNED_DATA), dwLength = 8 + signature length,
 *   padded to 8 bytes; the certificate-table directory entry points at it (size incl. padding).
 *
 * Differences from upstream (go-uefi), on purpose: no signingTime attribute (upstream puts
 * signingTime = now into the signed attributes, so its signed files are never reproducible),
 * and the PE CheckSum is recomputed over the signed file (upstream leaves it stale).
 *
 * The input is streamed once (copy + hash + checksum together); only the headers are held in
 * memory. An existing signature at the end of the input is replaced.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import * as asn1js from 'asn1js';
import { FactoryError } from '../errors.js';
import { PeChecksum } from '../builders/formats/pe/checksum.js';
import {
  alignUp,
  DIR_SECURITY,
  WIN_CERT_REVISION_2_0,
  WIN_CERT_TYPE_PKCS_SIGNED_DATA,
} from '../builders/formats/pe/layout.js';
import { peError, readPe, type PeImage } from '../builders/formats/pe/reader.js';
import { algorithm, der, OID, sha256, signedData } from './cms.js';
import type { SigningIdentity } from './keys.js';

const CHUNK = 1 << 20;

/** A byte range [start, end) of the file that goes into the image hash. */
interface Range {
  readonly start: number;
  readonly end: number;
}

/** The length of the image without its (trailing) certificate table. */
function unsignedLength(pe: PeImage, what: string): number {
  const table = pe.certificateTable;
  if (!table) return pe.fileSize;
  if (table.rva + table.size !== pe.fileSize)
    throw peError(what, 'has a certificate table that is not at the end of the file');
  return table.rva;
}

/**
 * The hashed ranges of an image whose certificate table will start at `hashedEnd` (bytes in
 * [unsigned length, hashedEnd) are the zero padding in front of the table).
 */
function hashRanges(pe: PeImage, hashedEnd: number, what: string): Range[] {
  if (pe.numberOfRvaAndSizes <= DIR_SECURITY) throw peError(what, 'has no certificate-table directory entry');
  const h = pe.sizeOfHeaders;
  if (h < pe.securityDirOffset + 8 || h > pe.fileSize) throw peError(what, `odd SizeOfHeaders ${h}`);
  const ranges: Range[] = [
    { start: 0, end: pe.checkSumOffset },
    { start: pe.checkSumOffset + 4, end: pe.securityDirOffset },
    { start: pe.securityDirOffset + 8, end: h },
  ];
  let sum = h;
  const sections = pe.sections
    .filter((s) => s.sizeOfRawData > 0)
    .sort((a, b) => a.pointerToRawData - b.pointerToRawData);
  for (const s of sections) {
    ranges.push({ start: s.pointerToRawData, end: s.pointerToRawData + s.sizeOfRawData });
    sum += s.sizeOfRawData;
  }
  if (hashedEnd > sum) ranges.push({ start: sum, end: hashedEnd });
  return ranges;
}

function ascendingDisjoint(ranges: readonly Range[]): boolean {
  for (let i = 1; i < ranges.length; i++) if (ranges[i]!.start < ranges[i - 1]!.end) return false;
  return true;
}

/** Feeds the parts of `chunk` (at file offset `at`) that fall inside sorted disjoint `ranges`. */
class RangeHasher {
  private next = 0;
  constructor(
    private readonly ranges: readonly Range[],
    readonly hash: Hash,
  ) {}

  update(chunk: Buffer, at: number): void {
    const end = at + chunk.length;
    while (this.next < this.ranges.length) {
      const r = this.ranges[this.next]!;
      if (r.start >= end) return;
      const from = Math.max(r.start, at);
      const to = Math.min(r.end, end);
      if (to > from) this.hash.update(chunk.subarray(from - at, to - at));
      if (r.end > end) return;
      this.next++;
    }
  }
}

/** Hashes `ranges` of a file with positioned reads (for images whose ranges overlap). */
async function hashByRanges(path: string, ranges: readonly Range[], realEnd: number): Promise<Buffer> {
  const hash = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(CHUNK);
    for (const r of ranges) {
      for (let p = r.start; p < r.end;) {
        const k = Math.min(CHUNK, r.end - p);
        if (p >= realEnd) {
          hash.update(Buffer.alloc(k));
        } else {
          const want = Math.min(k, realEnd - p);
          const { bytesRead } = await fh.read(buf, 0, want, p);
          hash.update(buf.subarray(0, bytesRead));
          if (want < k) hash.update(Buffer.alloc(k - want));
        }
        p += k;
      }
    }
  } finally {
    await fh.close();
  }
  return hash.digest();
}

/** `SpcIndirectDataContent` for a SHA-256 PE image hash (SpcPeImageData with the `<<<Obsolete>>>` file link). */
export function spcIndirectDataContent(digest: Buffer): asn1js.Sequence {
  const obsolete = Buffer.from('<<<Obsolete>>>', 'utf16le').swap16();
  const peImageData = new asn1js.Sequence({
    value: [
      new asn1js.BitString({ valueHex: new ArrayBuffer(0) }),
      new asn1js.Constructed({
        idBlock: { tagClass: 3, tagNumber: 0 },
        value: [
          new asn1js.Constructed({
            idBlock: { tagClass: 3, tagNumber: 2 },
            value: [new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: obsolete })],
          }),
        ],
      }),
    ],
  });
  return new asn1js.Sequence({
    value: [
      new asn1js.Sequence({
        value: [new asn1js.ObjectIdentifier({ value: OID.spcPeImageData }), peImageData],
      }),
      new asn1js.Sequence({ value: [algorithm(OID.sha256), new asn1js.OctetString({ valueHex: digest })] }),
    ],
  });
}

/** The value bytes of a DER TLV (Authenticode's messageDigest covers the content without tag and length). */
function derValue(tlv: Buffer): Buffer {
  const first = tlv[1]!;
  const header = first < 0x80 ? 2 : 2 + (first & 0x7f);
  return tlv.subarray(header);
}

/** The PKCS#7 Authenticode signature (DER ContentInfo) for a PE image hash. */
export function authenticodeSignature(digest: Buffer, signer: SigningIdentity): Buffer {
  const content = spcIndirectDataContent(digest);
  return signedData({
    signer,
    eContentType: OID.spcIndirectData,
    eContent: content,
    signedAttributes: [
      { type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.spcIndirectData })] },
      { type: OID.spcSpOpusInfo, values: [new asn1js.Sequence({ value: [] })] },
      {
        type: OID.messageDigest,
        values: [new asn1js.OctetString({ valueHex: sha256(derValue(der(content))) })],
      },
    ],
  });
}

/** The Authenticode SHA-256 image hash of a PE file as it is (an existing signature excluded). */
export async function authenticodeDigest(path: string, what: string): Promise<Buffer> {
  const pe = await readPe(path, what);
  const len = unsignedLength(pe, what);
  return hashByRanges(path, hashRanges(pe, len, what), len);
}

/** What {@link signPe} wrote. */
export interface SignedPe {
  readonly size: number;
  /** The Authenticode image hash that was signed. */
  readonly digest: Buffer;
}

/**
 * Signs the PE image at `inPath` into `outPath` (a different path). `what` names the input in
 * errors, e.g. `systemd-boot.efi of v1.10.6 amd64`.
 */
export async function signPe(
  inPath: string,
  outPath: string,
  signer: SigningIdentity,
  what: string,
  signal?: AbortSignal,
): Promise<SignedPe> {
  const pe = await readPe(inPath, what);
  const len = unsignedLength(pe, what);
  const tableAt = alignUp(len, 8);
  const ranges = hashRanges(pe, tableAt, what);
  const linear = ascendingDisjoint(ranges);
  const hasher = new RangeHasher(ranges, createHash('sha256'));
  const checksum = new PeChecksum();
  const out = await open(outPath, 'w');
  try {
    let at = 0;
    const write = async (buf: Buffer): Promise<void> => {
      for (let done = 0; done < buf.length;) {
        const { bytesWritten } = await out.write(buf, done, buf.length - done, at + done);
        done += bytesWritten;
      }
      if (linear) hasher.update(buf, at);
      checksum.update(buf);
      at += buf.length;
    };
    if (len > 0) {
      for await (const c of createReadStream(inPath, {
        start: 0,
        end: len - 1,
        highWaterMark: CHUNK,
        signal,
      })) {
        let chunk = c as Buffer;
        // CheckSum and the certificate directory entry are written as zeros and patched at the end.
        for (const [off, n] of [
          [pe.checkSumOffset, 4],
          [pe.securityDirOffset, 8],
        ] as const) {
          if (off < at + chunk.length && off + n > at) {
            chunk = Buffer.from(chunk);
            chunk.fill(0, Math.max(0, off - at), Math.min(chunk.length, off + n - at));
          }
        }
        await write(chunk);
      }
    }
    if (at !== len) throw peError(what, 'changed size while being signed');
    await write(Buffer.alloc(tableAt - len));
    const digest = linear ? hasher.hash.digest() : await hashByRanges(inPath, ranges, len);
    const signature = authenticodeSignature(digest, signer);
    const certLength = 8 + signature.length;
    const padded = alignUp(certLength, 8);
    const winCert = Buffer.alloc(padded);
    winCert.writeUInt32LE(certLength, 0);
    winCert.writeUInt16LE(WIN_CERT_REVISION_2_0, 4);
    winCert.writeUInt16LE(WIN_CERT_TYPE_PKCS_SIGNED_DATA, 6);
    signature.copy(winCert, 8);
    await write(winCert);

    const dir = Buffer.alloc(8);
    dir.writeUInt32LE(tableAt, 0);
    dir.writeUInt32LE(padded, 4);
    await out.write(dir, 0, 8, pe.securityDirOffset);
    checksum.addWordsAt(pe.securityDirOffset, dir);
    const sum = Buffer.alloc(4);
    sum.writeUInt32LE(checksum.digest());
    await out.write(sum, 0, 4, pe.checkSumOffset);
    return { size: at, digest };
  } catch (e) {
    if (e instanceof FactoryError) throw e;
    throw new FactoryError(
      'BUILD_FAILED',
      `${what}: signing failed (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        cause: e,
      },
    );
  } finally {
    await out.close();
  }
}
