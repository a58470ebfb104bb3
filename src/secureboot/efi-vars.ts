/**
 * UEFI key-enrollment files (talos-imager.md §4.4, errata E11): EFI signature lists (ESL) of X.509
 * certificates and `PK.auth` / `KEK.auth` / `db.auth` as time-based authenticated variables
 * (EFI_VARIABLE_AUTHENTICATION_2), equivalent to efitools' `sign-efi-sig-list`.
 *
 * `.auth` = EFI_TIME ‖ WIN_CERTIFICATE_UEFI_GUID{dwLength, 0x0200, 0x0EF1, EFI_CERT_TYPE_PKCS7_GUID,
 * PKCS#7 SignedData} ‖ ESL, where the SignedData (detached id-data, no signed attributes, bare —
 * without a ContentInfo around it — as the UEFI specification and `sign-efi-sig-list` have it) signs
 * VariableName (UTF-16LE, no NUL) ‖ VendorGuid ‖ Attributes (u32 LE) ‖ EFI_TIME ‖ ESL.
 * The timestamp is a parameter (SOURCE_DATE_EPOCH), so the files are reproducible.
 *
 * Certificate encoding: upstream writes the certificate's PEM *text* as the signature data; OVMF
 * parses EFI_CERT_X509_GUID entries as DER (see the boot test in test/boot/secureboot-boot.test.ts
 * and the report for what happens with PEM), so DER is the default here and PEM is kept as an
 * option for byte-compatibility experiments.
 */
import { createHash } from 'node:crypto';
import { signedData, OID } from './cms.js';
import type { SigningIdentity } from './keys.js';

/** EFI_GLOBAL_VARIABLE (vendor GUID of PK and KEK). */
export const EFI_GLOBAL_VARIABLE_GUID = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
/** EFI_IMAGE_SECURITY_DATABASE_GUID (vendor GUID of db and dbx). */
export const EFI_IMAGE_SECURITY_DATABASE_GUID = 'd719b2cb-3d3a-4596-a3bc-dad00e67656f';
/** EFI_CERT_X509_GUID (signature type of X.509 entries). */
export const EFI_CERT_X509_GUID = 'a5c059a1-94e4-4aa7-87b5-ab155c2bf072';
/** EFI_CERT_TYPE_PKCS7_GUID (WIN_CERTIFICATE_UEFI_GUID.CertType). */
export const EFI_CERT_TYPE_PKCS7_GUID = '4aafd29d-68df-49ee-8aa9-347d375665a7';
/** Owner GUID upstream uses for Microsoft's well-known certificates. */
export const MICROSOFT_OWNER_GUID = '77fa9abd-0359-4d32-bd60-28f4e78f784b';
/** RFC 4122 X.500 name-space UUID (errata E11). */
const NAMESPACE_X500 = '6ba7b814-9dad-11d1-80b4-00c04fd430c8';

/** EFI_VARIABLE_NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS | TIME_BASED_AUTHENTICATED_WRITE_ACCESS. */
export const AUTH_VARIABLE_ATTRIBUTES = 0x01 | 0x02 | 0x04 | 0x20;
const WIN_CERT_TYPE_EFI_GUID = 0x0ef1;

/** The secure-boot variables we write. */
export type SecureBootVariable = 'PK' | 'KEK' | 'db';

const VENDOR: Readonly<Record<SecureBootVariable, string>> = {
  PK: EFI_GLOBAL_VARIABLE_GUID,
  KEK: EFI_GLOBAL_VARIABLE_GUID,
  db: EFI_IMAGE_SECURITY_DATABASE_GUID,
};

function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`bad GUID ${uuid}`);
  return Buffer.from(hex, 'hex');
}

/** A GUID in EFI's binary layout (first three fields little-endian). */
export function guidBytes(guid: string): Buffer {
  const b = uuidBytes(guid);
  return Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8),
  ]);
}

function uuidString(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * The owner GUID the HEAD imager gives our certificate (errata E11): a name-based UUID from
 * SHA-256 over (X.500 name space ‖ the certificate's PEM text), version nibble 4, RFC 4122 variant.
 */
export function certificateOwnerGuid(certificatePem: string): string {
  const h = createHash('sha256').update(uuidBytes(NAMESPACE_X500)).update(certificatePem, 'utf8').digest();
  const u = Buffer.from(h.subarray(0, 16));
  u[6] = (u[6]! & 0x0f) | 0x40;
  u[8] = (u[8]! & 0x3f) | 0x80;
  return uuidString(u);
}

/** One X.509 entry of a signature database. */
export interface EslCertificate {
  /** SignatureOwner GUID. */
  readonly owner: string;
  /** The signature data: DER (what firmware parses) or PEM text (what upstream writes). */
  readonly data: Buffer;
}

/**
 * A signature database of X.509 certificates: one EFI_SIGNATURE_LIST per certificate (all
 * entries of one list must have the same size, and certificates differ in size).
 */
export function x509SignatureDatabase(certs: readonly EslCertificate[]): Buffer {
  return Buffer.concat(
    certs.map((c) => {
      const header = Buffer.alloc(28);
      guidBytes(EFI_CERT_X509_GUID).copy(header, 0);
      const signatureSize = 16 + c.data.length;
      header.writeUInt32LE(28 + signatureSize, 16);
      header.writeUInt32LE(0, 20);
      header.writeUInt32LE(signatureSize, 24);
      return Buffer.concat([header, guidBytes(c.owner), c.data]);
    }),
  );
}

/** EFI_TIME for an authenticated variable: date and time set, Pad/Nanosecond/TimeZone/Daylight zero. */
export function efiTime(date: Date): Buffer {
  const t = Buffer.alloc(16);
  t.writeUInt16LE(date.getUTCFullYear(), 0);
  t.writeUInt8(date.getUTCMonth() + 1, 2);
  t.writeUInt8(date.getUTCDate(), 3);
  t.writeUInt8(date.getUTCHours(), 4);
  t.writeUInt8(date.getUTCMinutes(), 5);
  t.writeUInt8(date.getUTCSeconds(), 6);
  return t;
}

/** The bytes an authenticated variable's signature covers. */
export function authenticatedPayload(name: SecureBootVariable, timestamp: Date, data: Buffer): Buffer {
  const attrs = Buffer.alloc(4);
  attrs.writeUInt32LE(AUTH_VARIABLE_ATTRIBUTES);
  return Buffer.concat([
    Buffer.from(name, 'utf16le'),
    guidBytes(VENDOR[name]),
    attrs,
    efiTime(timestamp),
    data,
  ]);
}

/** A `<name>.auth` file: EFI_VARIABLE_AUTHENTICATION_2 followed by the variable data. */
export function authenticatedVariable(
  name: SecureBootVariable,
  data: Buffer,
  signer: SigningIdentity,
  timestamp: Date,
): Buffer {
  const pkcs7 = signedData({
    signer,
    eContentType: OID.data,
    detachedData: authenticatedPayload(name, timestamp, data),
    bare: true,
  });
  const winCert = Buffer.alloc(24);
  winCert.writeUInt32LE(24 + pkcs7.length, 0);
  winCert.writeUInt16LE(0x0200, 4);
  winCert.writeUInt16LE(WIN_CERT_TYPE_EFI_GUID, 6);
  guidBytes(EFI_CERT_TYPE_PKCS7_GUID).copy(winCert, 8);
  return Buffer.concat([efiTime(timestamp), winCert, pkcs7, data]);
}

/** Options for {@link enrollmentFiles}. */
export interface EnrollmentOptions {
  readonly signer: SigningIdentity;
  /** Timestamp in every `.auth` file (use SOURCE_DATE_EPOCH for reproducible output). */
  readonly timestamp: Date;
  /** How our certificate is stored in the ESLs; default `der` (see the module comment). */
  readonly encoding?: 'der' | 'pem';
  /** Extra DER certificates (Microsoft's, owner {@link MICROSOFT_OWNER_GUID}) for KEK and db. */
  readonly extraKek?: readonly Buffer[];
  readonly extraDb?: readonly Buffer[];
}

/** `PK.auth`, `KEK.auth` and `db.auth` for auto-enrollment, all signed by the signing key. */
export function enrollmentFiles(o: EnrollmentOptions): Record<SecureBootVariable, Buffer> {
  const own: EslCertificate = {
    owner: certificateOwnerGuid(o.signer.certificatePem),
    data:
      (o.encoding ?? 'der') === 'pem'
        ? Buffer.from(o.signer.certificatePem, 'utf8')
        : o.signer.certificateDer,
  };
  const ms = (certs: readonly Buffer[] | undefined): EslCertificate[] =>
    (certs ?? []).map((data) => ({ owner: MICROSOFT_OWNER_GUID, data }));
  const lists: Record<SecureBootVariable, Buffer> = {
    PK: x509SignatureDatabase([own]),
    KEK: x509SignatureDatabase([own, ...ms(o.extraKek)]),
    db: x509SignatureDatabase([own, ...ms(o.extraDb)]),
  };
  return {
    PK: authenticatedVariable('PK', lists.PK, o.signer, o.timestamp),
    KEK: authenticatedVariable('KEK', lists.KEK, o.signer, o.timestamp),
    db: authenticatedVariable('db', lists.db, o.signer, o.timestamp),
  };
}
