/**
 * PKCS#7 / CMS SignedData (RFC 2315 / RFC 5652) assembled from asn1js objects, for the two
 * secure-boot signatures we make: Authenticode (content = SpcIndirectDataContent embedded as a
 * SEQUENCE, not an OCTET STRING, which is why pkijs' own SignedData class does not fit) and
 * EFI time-based authenticated variables (detached id-data content, no signed attributes — what
 * `sign-efi-sig-list` writes). Signatures are RSA PKCS#1 v1.5 with SHA-256 made by Node's crypto.
 *
 * No signingTime attribute is ever added, so the same inputs and key give the same bytes.
 */
import { createHash, sign } from 'node:crypto';
import * as asn1js from 'asn1js';
import type { SigningIdentity } from './keys.js';

/** Object identifiers used here. */
export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  spcIndirectData: '1.3.6.1.4.1.311.2.1.4',
  spcPeImageData: '1.3.6.1.4.1.311.2.1.15',
  spcSpOpusInfo: '1.3.6.1.4.1.311.2.1.12',
} as const;

/** An attribute for the signed attributes. */
export interface CmsAttribute {
  readonly type: string;
  readonly values: readonly asn1js.AsnType[];
}

/** Inputs of {@link signedData}. */
export interface SignedDataInput {
  readonly signer: SigningIdentity;
  readonly eContentType: string;
  /** Embedded content (`[0] EXPLICIT`), or undefined for detached content. */
  readonly eContent?: asn1js.AsnType;
  /**
   * Signed attributes: the signature covers their DER SET. Without them the signature covers
   * `detachedData` directly (EFI authenticated variables).
   */
  readonly signedAttributes?: readonly CmsAttribute[];
  /** The signed bytes when there are no signed attributes. */
  readonly detachedData?: Buffer;
  /**
   * Return the bare SignedData instead of a ContentInfo around it: the UEFI specification's
   * form for authenticated variables, and what efitools' `sign-efi-sig-list` writes.
   */
  readonly bare?: boolean;
}

/** DER of one asn1js value. */
export function der(v: asn1js.AsnType): Buffer {
  return Buffer.from(v.toBER(false));
}

/** `AlgorithmIdentifier` with NULL parameters. */
export function algorithm(oid: string): asn1js.Sequence {
  return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid }), new asn1js.Null()] });
}

/** Compares DER encodings as X.690 orders SET OF members (shorter ones padded with zeros). */
function derOrder(a: Buffer, b: Buffer): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x - y;
  }
  return 0;
}

/** A DER SET OF: members sorted by their encoding (verifiers re-encode it that way). */
export function derSetOf(members: readonly asn1js.AsnType[]): asn1js.Set {
  const sorted = members.map((m) => ({ m, d: der(m) })).sort((a, b) => derOrder(a.d, b.d));
  return new asn1js.Set({ value: sorted.map((x) => x.m) });
}

function attribute(a: CmsAttribute): asn1js.Sequence {
  return new asn1js.Sequence({
    value: [new asn1js.ObjectIdentifier({ value: a.type }), derSetOf(a.values)],
  });
}

/** Builds a DER ContentInfo(SignedData) (or the bare SignedData) with one SHA-256/RSA signer and its certificate. */
export function signedData(input: SignedDataInput): Buffer {
  const { signer } = input;
  const cert = signer.certificate;
  const attrs = input.signedAttributes?.map(attribute);
  let signature: Buffer;
  if (attrs) {
    // The signature is over the attributes encoded as a universal SET (tag 0x31).
    signature = sign('sha256', der(derSetOf(attrs)), signer.key);
  } else {
    if (input.detachedData === undefined) throw new Error('signedData: no signed attributes and no data');
    signature = sign('sha256', input.detachedData, signer.key);
  }
  const sortedAttrs = attrs ? derSetOf(attrs).valueBlock.value : undefined;
  const signerInfo = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 1 }),
      new asn1js.Sequence({ value: [cert.issuer.toSchema(), cert.serialNumber] }),
      algorithm(OID.sha256),
      ...(sortedAttrs
        ? [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: sortedAttrs })]
        : []),
      algorithm(OID.rsaEncryption),
      new asn1js.OctetString({ valueHex: signature }),
    ],
  });
  const encap = new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: input.eContentType }),
      ...(input.eContent
        ? [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [input.eContent] })]
        : []),
    ],
  });
  const certs = new asn1js.Constructed({
    idBlock: { tagClass: 3, tagNumber: 0 },
    value: [asn1js.fromBER(signer.certificateDer).result],
  });
  const sd = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 1 }),
      new asn1js.Set({ value: [algorithm(OID.sha256)] }),
      encap,
      certs,
      new asn1js.Set({ value: [signerInfo] }),
    ],
  });
  if (input.bare === true) return der(sd);
  return der(
    new asn1js.Sequence({
      value: [
        new asn1js.ObjectIdentifier({ value: OID.signedData }),
        new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [sd] }),
      ],
    }),
  );
}

/** SHA-256 of `data`. */
export function sha256(data: Buffer | Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}
