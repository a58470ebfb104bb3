/**
 * Microsoft's well-known Secure Boot certificates for `secureboot.includeWellKnownCertificates`
 * (talos-imager.md §4.4: KEK += Microsoft KEK CA; db += Microsoft UEFI CA (+ Option ROM CA)).
 *
 * No Debian package ships them as files. Debian's `ovmf` package ships them *enrolled* in
 * `OVMF_VARS_4M.ms.fd` (Microsoft Corporation KEK CA 2011 in KEK; Microsoft Windows Production
 * PCA 2011 and Microsoft Corporation UEFI CA 2011 in db — no 2023 certificates in Debian 12's
 * 2022.11 build), so they are read from that variable store at run time: the authenticated
 * variable store (EDK2 `AUTHENTICATED_VARIABLE_HEADER` records) is walked, `KEK` and `db` are
 * taken, and their EFI_CERT_X509_GUID entries parsed. Like upstream, db gets only the UEFI CA
 * (third-party) certificates, not the Windows PCA.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { FactoryError } from '../errors.js';
import {
  EFI_CERT_X509_GUID,
  EFI_GLOBAL_VARIABLE_GUID,
  EFI_IMAGE_SECURITY_DATABASE_GUID,
  guidBytes,
} from './efi-vars.js';

/** Debian's pre-enrolled OVMF variable store (package `ovmf`). */
export const DEFAULT_MS_VARS_PATH = '/usr/share/OVMF/OVMF_VARS_4M.ms.fd';

/** The certificates to add, DER, in file order. */
export interface WellKnownCertificates {
  readonly kek: readonly Buffer[];
  readonly db: readonly Buffer[];
}

const VAR_START_ID = 0x55aa;
const VAR_ADDED = 0x3f;
const AUTH_HEADER_SIZE = 60;

interface StoredVariable {
  readonly name: string;
  readonly vendor: Buffer;
  readonly data: Buffer;
}

/** Walks the EDK2 authenticated variable records in a vars image (valid, non-deleted ones). */
export function parseVariableStore(image: Buffer): StoredVariable[] {
  const out: StoredVariable[] = [];
  for (let i = image.indexOf(Buffer.from([0xaa, 0x55])); i >= 0 && i + AUTH_HEADER_SIZE <= image.length;) {
    if (image.readUInt16LE(i) !== VAR_START_ID) {
      i = image.indexOf(Buffer.from([0xaa, 0x55]), i + 1);
      continue;
    }
    const state = image[i + 2]!;
    const nameSize = image.readUInt32LE(i + 36);
    const dataSize = image.readUInt32LE(i + 40);
    const end = i + AUTH_HEADER_SIZE + nameSize + dataSize;
    if (nameSize === 0 || nameSize > 1024 || end > image.length) {
      i = image.indexOf(Buffer.from([0xaa, 0x55]), i + 1);
      continue;
    }
    const vendor = image.subarray(i + 44, i + 60);
    const name = image
      .toString('utf16le', i + AUTH_HEADER_SIZE, i + AUTH_HEADER_SIZE + nameSize)
      .replace(/\0+$/, '');
    // VAR_ADDED, possibly with IN_DELETED_TRANSITION cleared-in-progress (0x3e); deleted ones skipped.
    if (state === VAR_ADDED || state === (VAR_ADDED & 0xfe))
      out.push({ name, vendor, data: image.subarray(i + AUTH_HEADER_SIZE + nameSize, end) });
    i = (end + 3) & ~3;
  }
  return out;
}

/** The X.509 certificates (DER) in a signature database. */
export function x509Entries(esl: Buffer): Buffer[] {
  const certs: Buffer[] = [];
  const x509 = guidBytes(EFI_CERT_X509_GUID);
  for (let at = 0; at + 28 <= esl.length;) {
    const listSize = esl.readUInt32LE(at + 16);
    const headerSize = esl.readUInt32LE(at + 20);
    const sigSize = esl.readUInt32LE(at + 24);
    if (listSize < 28 || at + listSize > esl.length || sigSize < 16) break;
    if (esl.subarray(at, at + 16).equals(x509)) {
      for (let s = at + 28 + headerSize; s + sigSize <= at + listSize; s += sigSize)
        certs.push(esl.subarray(s + 16, s + sigSize));
    }
    at += listSize;
  }
  return certs;
}

/** Loads Microsoft's KEK and UEFI CA certificates from an enrolled OVMF vars image. */
export async function loadWellKnownCertificates(
  varsPath = DEFAULT_MS_VARS_PATH,
): Promise<WellKnownCertificates> {
  let image: Buffer;
  try {
    image = await readFile(varsPath);
  } catch (e) {
    throw new FactoryError(
      'CONFIG_INVALID',
      `well-known Secure Boot certificates: Microsoft's certificates come from Debian's ovmf package (OVMF_VARS_4M.ms.fd), which cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: e },
    );
  }
  const vars = parseVariableStore(image);
  const find = (name: string, vendor: string): Buffer[] =>
    vars
      .filter((v) => v.name === name && v.vendor.equals(guidBytes(vendor)))
      .flatMap((v) => x509Entries(v.data));
  const isMicrosoft = (der: Buffer, re: RegExp): boolean => {
    const cn = /CN=([^\n]+)/.exec(new X509Certificate(der).subject)?.[1] ?? '';
    return /^Microsoft /.test(cn) && re.test(cn);
  };
  const kek = find('KEK', EFI_GLOBAL_VARIABLE_GUID).filter((c) => isMicrosoft(c, /KEK CA/));
  const db = find('db', EFI_IMAGE_SECURITY_DATABASE_GUID).filter((c) => isMicrosoft(c, /UEFI CA|Option ROM/));
  if (kek.length === 0 || db.length === 0)
    throw new FactoryError(
      'CONFIG_INVALID',
      'well-known Secure Boot certificates: none found in the OVMF vars image',
    );
  return { kek, db };
}
