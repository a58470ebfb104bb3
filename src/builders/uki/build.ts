/**
 * Builds a UKI (talos-imager.md §5): section plan from the version's quirks, section payloads
 * (os-release, cmdline, uname, splash, PCR public key, profiles, `.pcrsig` per profile), the PE
 * assembly onto the release's systemd stub, then Authenticode signing when Secure Boot keys are
 * given. Large inputs (kernel, initrd) are streamed from their files, never buffered whole.
 */
import type { KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { FactoryError } from '../../errors.js';
import type { QuirkValues } from '../../profile/quirks.js';
import { signPe } from '../../secureboot/authenticode.js';
import { pcrPublicKeyPem, type SigningIdentity } from '../../secureboot/keys.js';
import {
  digestSection,
  pcrBanks,
  pcrSignatureJson,
  type MeasuredSection,
  type SectionDigests,
} from '../../secureboot/pcr.js';
import { readPe, readSection } from '../formats/pe/reader.js';
import {
  appendSections,
  checkStub,
  type NewSection,
  type SectionData,
  type WrittenSection,
} from '../formats/pe/writer.js';
import { discoverKernelVersion } from './kernel-version.js';
import { osReleaseText } from './os-release.js';
import {
  pcrMeasurementSets,
  profileText,
  ukiProfiles,
  ukiSectionPlan,
  type UkiMedium,
  type UkiSectionEntry,
} from './sections.js';

/** Secure Boot material for a signed UKI. */
export interface UkiSigning {
  /** Authenticode signer (UKI, and the kernel for Talos 1.5–1.9). */
  readonly signer: SigningIdentity;
  /** RSA key that signs the PCR 11 policy (`.pcrsig`); its public half becomes `.pcrpkey`. */
  readonly pcrKey: KeyObject;
}

/** Inputs of {@link buildUki}. */
export interface UkiBuildInput {
  /** `usr/install/<arch>/systemd-stub.efi` from the release. */
  readonly stubPath: string;
  /** Names the stub in errors, e.g. `systemd-stub.efi of v1.10.6 amd64`. */
  readonly stubWhat: string;
  /** Expected stub architecture; a stub of another machine type is an error. */
  readonly arch?: 'amd64' | 'arm64';
  readonly kernelPath: string;
  /** The (extended) initramfs. */
  readonly initrdPath: string;
  readonly cmdline: string;
  /** A BMP splash image from the release, when it has one. */
  readonly splashPath?: string;
  /** Talos version for `.osrel`, e.g. `v1.10.6`. */
  readonly version: string;
  readonly quirks: QuirkValues;
  /** Which medium the UKI is for (decides the extra profiles). */
  readonly medium: UkiMedium;
  /** COFF TimeDateStamp (SOURCE_DATE_EPOCH). */
  readonly sourceDateEpoch: number;
  readonly signing?: UkiSigning;
  /** Scratch directory parent (a private temp dir is made and removed inside it). */
  readonly tmpDir: string;
  readonly signal?: AbortSignal;
}

/** What {@link buildUki} produced. */
export interface UkiBuildResult {
  readonly size: number;
  readonly plan: readonly UkiSectionEntry[];
  /** The section table of the unsigned image. */
  readonly sections: readonly WrittenSection[];
  /** `.uname` content, when the kernel version was found. */
  readonly kernelVersion: string | undefined;
  /** `.pcrsig` texts in plan order (signed builds only). */
  readonly pcrSignatures: readonly string[];
  /** systemd-stub major version from the stub's LoaderInfo magic, when it has one. */
  readonly stubVersion: number | undefined;
  /** Profiles were left out because the stub predates multi-profile UKIs (systemd < 257). */
  readonly profilesDropped: boolean;
}

/** Stubs are ~100 KB; larger files are not scanned for their version. */
const MAX_STUB_SCAN = 16 * 1024 * 1024;

/** First systemd version whose stub understands `.profile` sections (multi-profile UKIs). */
export const MIN_PROFILE_STUB = 257;

/** The systemd major version in a stub's LoaderInfo magic (`#### LoaderInfo: systemd-stub 252.39-1 ####`). */
export function systemdStubVersion(sdmagic: Buffer): number | undefined {
  const m = /LoaderInfo: systemd-stub (\d+)/.exec(sdmagic.toString('latin1'));
  return m ? Number(m[1]) : undefined;
}

const STEP = 'uki';

/** Builds the UKI into `outPath`. */
export async function buildUki(input: UkiBuildInput, outPath: string): Promise<UkiBuildResult> {
  const stub = await readPe(input.stubPath, input.stubWhat);
  checkStub(stub, input.stubWhat);
  if (input.arch !== undefined && stub.arch !== input.arch)
    throw new FactoryError(
      'BUILD_FAILED',
      `${input.stubWhat}: a ${stub.arch ?? 'foreign'} stub, expected ${input.arch}`,
    );
  const sbatSection = stub.sections.find((s) => s.name === '.sbat');
  const sbat = sbatSection ? await readSection(input.stubPath, sbatSection, true) : undefined;
  const kernelVersion = await discoverKernelVersion(input.kernelPath).catch(() => undefined);
  const signing = input.signing;
  // The LoaderInfo magic sits in `.sdmagic` (x86) or inside `.data` (Debian's arm64 stub).
  const stubVersion =
    stub.fileSize <= MAX_STUB_SCAN ? systemdStubVersion(await readFile(input.stubPath)) : undefined;
  // A stub older than systemd 257 knows no `.profile`s and takes the *last* `.cmdline` it finds —
  // with a reset profile the UKI would boot `talos.experimental.wipe=…` (seen with Debian's 252
  // stub). Such stubs get no profile sections; Talos ≥ 1.10 releases ship ≥ 257 stubs.
  const profilesDropped = stubVersion !== undefined && stubVersion < MIN_PROFILE_STUB;
  const profiles = profilesDropped ? [] : ukiProfiles(input.quirks, input.medium, input.cmdline);
  const plan = ukiSectionPlan({
    quirks: input.quirks,
    signed: signing !== undefined,
    hasUname: kernelVersion !== undefined,
    hasSplash: input.splashPath !== undefined,
    profiles,
  }).filter((e) => e.content !== 'sbat' || sbat !== undefined);

  const work = await mkdtemp(path.join(input.tmpDir, 'uki-'));
  try {
    const data = new Map<UkiSectionEntry, SectionData>();
    for (const e of plan) {
      if (e.content === 'pcrsig') continue;
      data.set(e, await payload(e, input, { sbat, kernelVersion, profiles, work }));
    }
    const pcrSignatures: string[] = [];
    if (signing) {
      const banks = pcrBanks(input.quirks);
      const digests = new Map<UkiSectionEntry, SectionDigests>();
      const sets = pcrMeasurementSets(plan);
      let i = 0;
      for (const e of plan) {
        if (e.content !== 'pcrsig') continue;
        const measured: MeasuredSection[] = [];
        for (const m of sets[i++]!.values()) {
          let d = digests.get(m);
          if (!d) {
            d = await digestSection(data.get(m)!, banks);
            digests.set(m, d);
          }
          measured.push({ name: m.name, digests: d });
        }
        const json = pcrSignatureJson(measured, banks, signing.pcrKey);
        pcrSignatures.push(json);
        data.set(e, Buffer.from(json, 'utf8'));
      }
    }
    const sections: NewSection[] = plan
      .filter((e) => e.append)
      .map((e) => ({ name: e.name, data: data.get(e)! }));
    const unsignedPath = signing ? path.join(work, 'uki.unsigned.efi') : outPath;
    const written = await appendSections(input.stubPath, stub, sections, unsignedPath, {
      timeDateStamp: input.sourceDateEpoch,
      what: input.stubWhat,
      step: STEP,
      signal: input.signal,
    });
    let size = written.size;
    if (signing)
      size = (await signPe(unsignedPath, outPath, signing.signer, `${STEP}: assembled UKI`, input.signal))
        .size;
    return {
      size,
      plan,
      sections: written.sections,
      kernelVersion,
      pcrSignatures,
      stubVersion,
      profilesDropped,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function payload(
  e: UkiSectionEntry,
  input: UkiBuildInput,
  ctx: {
    sbat: Buffer | undefined;
    kernelVersion: string | undefined;
    profiles: ReturnType<typeof ukiProfiles>;
    work: string;
  },
): Promise<SectionData> {
  switch (e.content) {
    case 'osrel':
      return Buffer.from(osReleaseText(input.version), 'utf8');
    case 'cmdline':
      return Buffer.from(input.cmdline, 'utf8');
    case 'uname':
      return Buffer.from(ctx.kernelVersion ?? '', 'utf8');
    case 'splash':
      return { path: input.splashPath! };
    case 'sbat':
      return ctx.sbat!;
    case 'pcrpkey':
      return Buffer.from(pcrPublicKeyPem(input.signing!.pcrKey), 'utf8');
    case 'kernel':
      return { path: input.kernelPath };
    case 'kernel-signed': {
      const signed = path.join(ctx.work, 'kernel.signed');
      await signPe(input.kernelPath, signed, input.signing!.signer, `${STEP}: kernel`, input.signal);
      return { path: signed };
    }
    case 'initrd':
      return { path: input.initrdPath };
    case 'profile':
      return Buffer.from(profileText(ctx.profiles[e.profile!]!), 'utf8');
    case 'profile-cmdline':
      return Buffer.from(ctx.profiles[e.profile!]!.cmdline ?? '', 'utf8');
    case 'pcrsig':
      throw new Error('pcrsig payloads are computed after the measured sections');
  }
}
