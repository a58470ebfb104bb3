/**
 * PCR 11 prediction and the `.pcrsig` JSON, the `systemd-measure sign` equivalent Talos uses
 * (talos-imager.md §5.3, errata §4):
 *
 * 1. per bank, start from zeros; Extend(x) = H(pcr ‖ H(x));
 * 2. for each measured section present, in the fixed order {@link PCR_SECTION_ORDER}:
 *    Extend(name ‖ NUL), then Extend(payload);
 * 3. Extend the phases `enter-initrd`, `leave-initrd`, `enter-machined` (no NUL); the value after
 *    the last one is what gets signed;
 * 4. policy = SHA-256(zeros32 ‖ u32be TPM_CC_PolicyPCR ‖ TPML_PCR_SELECTION{1, alg, 3, 00 08 00} ‖
 *    SHA-256(pcr value));
 * 5. signature = RSA PKCS#1 v1.5 over H_bank(policy);
 * 6. `{"pcrs":[11],"pkfp":hex sha256(PKCS#1 public key DER),"pol":hex policy,"sig":base64}`.
 *
 * Section payloads are hashed once for every bank in one streaming pass ({@link digestSection}),
 * so a large initrd is read once even when several profiles are signed.
 */
import { createHash, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { QuirkValues } from '../profile/quirks.js';

/** A PCR bank (hash algorithm). */
export type PcrBank = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** TPM 2.0 algorithm IDs of the banks. */
export const TPM_ALG: Readonly<Record<PcrBank, number>> = {
  sha1: 0x0004,
  sha256: 0x000b,
  sha384: 0x000c,
  sha512: 0x000d,
};

const DIGEST_SIZE: Readonly<Record<PcrBank, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

/** TPM_CC_PolicyPCR. */
const TPM_CC_POLICY_PCR = 0x0000017f;

/** The PCR sd-stub measures UKI sections into. */
export const UKI_PCR = 11;

/** Measurement order of UKI sections (HEAD: `.ucode` after `.initrd`; `.profile`, `.dtbauto`, `.hwids` at the end). */
export const PCR_SECTION_ORDER: readonly string[] = [
  '.linux',
  '.osrel',
  '.cmdline',
  '.initrd',
  '.ucode',
  '.splash',
  '.dtb',
  '.uname',
  '.sbat',
  '.pcrpkey',
  '.profile',
  '.dtbauto',
  '.hwids',
];

/** Boot phases extended into PCR 11 after the sections; the policy is signed after the last. */
export const PCR_PHASES: readonly string[] = ['enter-initrd', 'leave-initrd', 'enter-machined'];

/** The banks `.pcrsig` carries for a Talos version (SHA-1 too before 1.6), in JSON key order. */
export function pcrBanks(quirks: Pick<QuirkValues, 'pcrSha1Bank'>): PcrBank[] {
  return quirks.pcrSha1Bank ? ['sha1', 'sha256', 'sha384', 'sha512'] : ['sha256', 'sha384', 'sha512'];
}

/** A section payload's digest in every bank. */
export type SectionDigests = ReadonlyMap<PcrBank, Buffer>;

/** Hashes a payload (bytes or a file, streamed) in all `banks` in one pass. */
export async function digestSection(
  data: Buffer | { readonly path: string },
  banks: readonly PcrBank[],
): Promise<SectionDigests> {
  const hashes = banks.map((b) => [b, createHash(b)] as const);
  if (Buffer.isBuffer(data)) {
    for (const [, h] of hashes) h.update(data);
  } else {
    for await (const chunk of createReadStream(data.path, { highWaterMark: 1 << 20 })) {
      for (const [, h] of hashes) h.update(chunk as Buffer);
    }
  }
  return new Map(hashes.map(([b, h]) => [b, h.digest()]));
}

/** A measured section: its name and payload digests. */
export interface MeasuredSection {
  readonly name: string;
  readonly digests: SectionDigests;
}

function extendWithDigest(bank: PcrBank, pcr: Buffer, digest: Buffer): Buffer {
  return createHash(bank).update(pcr).update(digest).digest();
}

function extend(bank: PcrBank, pcr: Buffer, data: Buffer): Buffer {
  return extendWithDigest(bank, pcr, createHash(bank).update(data).digest());
}

/**
 * The predicted PCR 11 value in `bank` after `enter-machined`, for the given sections (any order;
 * names not in {@link PCR_SECTION_ORDER} are ignored, duplicates are an error).
 */
export function predictPcr11(sections: readonly MeasuredSection[], bank: PcrBank): Buffer {
  const byName = new Map<string, MeasuredSection>();
  for (const s of sections) {
    if (byName.has(s.name)) throw new Error(`pcr: section ${s.name} measured twice`);
    byName.set(s.name, s);
  }
  let pcr: Buffer = Buffer.alloc(DIGEST_SIZE[bank]);
  for (const name of PCR_SECTION_ORDER) {
    const s = byName.get(name);
    if (!s) continue;
    const d = s.digests.get(bank);
    if (!d) throw new Error(`pcr: section ${name} has no ${bank} digest`);
    pcr = extend(bank, pcr, Buffer.from(`${name}\0`, 'latin1'));
    pcr = extendWithDigest(bank, pcr, d);
  }
  for (const phase of PCR_PHASES) pcr = extend(bank, pcr, Buffer.from(phase, 'latin1'));
  return pcr;
}

/** TPM2 PolicyPCR digest (SHA-256) for PCR 11 in `bank` holding `pcrValue`. */
export function pcrPolicyDigest(pcrValue: Buffer, bank: PcrBank): Buffer {
  const head = Buffer.alloc(4 + 4 + 2 + 1 + 3);
  head.writeUInt32BE(TPM_CC_POLICY_PCR, 0);
  head.writeUInt32BE(1, 4);
  head.writeUInt16BE(TPM_ALG[bank], 8);
  head.writeUInt8(3, 10);
  // PCR bitmap: byte 1 bit 3 = PCR 11.
  head.set([0x00, 0x08, 0x00], 11);
  const pcrDigest = createHash('sha256').update(pcrValue).digest();
  return createHash('sha256').update(Buffer.alloc(32)).update(head).update(pcrDigest).digest();
}

/** One bank's entry in `.pcrsig`. */
export interface PcrBankEntry {
  readonly pcrs: number[];
  readonly pkfp: string;
  readonly pol: string;
  readonly sig: string;
}

/** Hex SHA-256 of the PKCS#1 DER public key (`pkfp`). */
export function pcrKeyFingerprint(key: KeyObject): string {
  const pkcs1 = createPublicKey(key).export({ type: 'pkcs1', format: 'der' });
  return createHash('sha256').update(pkcs1).digest('hex');
}

/** The signed bank entries for a set of measured sections. */
export function pcrSignature(
  sections: readonly MeasuredSection[],
  banks: readonly PcrBank[],
  key: KeyObject,
): Partial<Record<PcrBank, PcrBankEntry[]>> {
  const pkfp = pcrKeyFingerprint(key);
  const out: Partial<Record<PcrBank, PcrBankEntry[]>> = {};
  for (const bank of banks) {
    const policy = pcrPolicyDigest(predictPcr11(sections, bank), bank);
    const sig = sign(bank, policy, key);
    out[bank] = [{ pcrs: [UKI_PCR], pkfp, pol: policy.toString('hex'), sig: sig.toString('base64') }];
  }
  return out;
}

/** The `.pcrsig` section text: compact JSON with banks in {@link pcrBanks} order. */
export function pcrSignatureJson(
  sections: readonly MeasuredSection[],
  banks: readonly PcrBank[],
  key: KeyObject,
): string {
  return JSON.stringify(pcrSignature(sections, banks, key));
}
