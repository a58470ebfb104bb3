/**
 * Version quirks: how the (HEAD) Talos imager changes behaviour with the *target* Talos version
 * (talos-imager.md §9, errata §8). Everything is one data table, {@link QUIRK_TABLE}; the rest
 * of the code asks a {@link Quirks} object and never compares versions itself.
 *
 * Like the imager, quirks look only at MAJOR.MINOR.PATCH: `1.10.0-beta.1` counts as 1.10.0.
 * `deriveQuirks(undefined)` models the imager's "version did not parse" case (errata §1): most
 * quirks assume the latest Talos, but a few deliberately answer false. Our own version parsing is
 * strict, so that case only arises for callers that have no version at all.
 */
import { compareTalosVersions, coreVersion, parseTalosVersion, type TalosVersion } from './version.js';

/** The value of every quirk for one target version. */
export interface QuirkValues {
  /** GRUB menus carry a "reset" entry (≥ 1.4). */
  readonly supportsResetGrubOption: boolean;
  /** UKIs / secure boot can be built (≥ 1.5). */
  readonly supportsUKI: boolean;
  /** Multi-document machine configs (≥ 1.5). */
  readonly supportsMultidoc: boolean;
  /** META on the cmdline may be gzip'd when > 256 bytes (≥ 1.6.3). */
  readonly supportsCompressedMeta: boolean;
  /** Overlays (SBC support) (≥ 1.7). */
  readonly supportsOverlay: boolean;
  /** zstd instead of xz for the initramfs appendix and extension squashfs (≥ 1.8). */
  readonly useZstdCompression: boolean;
  /** ISO volume label (≥ 1.8). */
  readonly supportsISOLabel: boolean;
  /** metal amd64 keeps `console=ttyS0` (< 1.8; false for an unknown version). */
  readonly metalConsoleTTYS0: boolean;
  /** ISO cmdline gets `talos.halt_if_installed=1` (≥ 1.8). */
  readonly supportsHaltIfInstalled: boolean;
  /** Disk images have no STATE/EPHEMERAL partitions (≥ 1.8). */
  readonly skipDataPartitions: boolean;
  /** `selinux=1` by default (≥ 1.10). */
  readonly supportsSELinux: boolean;
  /** systemd-boot for UEFI, UKI built for non-SB too (≥ 1.10; false for an unknown version). */
  readonly useSDBootForUEFI: boolean;
  /** `/usr/lib/{modules,firmware}` instead of `/lib/…` (≥ 1.10). */
  readonly usrMerge: boolean;
  /** Extra UKI profiles (reset entries) (≥ 1.10). */
  readonly supportsUKIProfiles: boolean;
  /** Unified installer built on `installer-base` (≥ 1.10). */
  readonly supportsUnifiedInstaller: boolean;
  /**
   * UKI sections in the native PE writer's order with the unsigned kernel in `.linux` (≥ 1.10);
   * before, the 1.5–1.9 order (`.osrel .cmdline .initrd .splash .uname .pcrpkey .linux`) with an
   * Authenticode-signed kernel (talos-imager.md §5.1/§5.2, errata §4).
   */
  readonly ukiNativeSectionOrder: boolean;
  /** `.pcrsig` also carries a SHA-1 bank (< 1.6; false for an unknown version) (talos-imager.md §5.3). */
  readonly pcrSha1Bank: boolean;
  /** Talos' BOOT partition size in MiB (2000 from 1.11, 1000 before). */
  readonly bootPartitionMiB: number;
  /** The mkfs.xfs config file name Talos uses (under `/usr/share/xfsprogs/mkfs/`). */
  readonly xfsMkfsConfig: string;
  /** XFS allocation-group floor in bytes (≥ 1.14: 64 GiB). Not applied by the imager (errata E9). */
  readonly xfsMinAllocationGroupBytes: number;
  /** IMA args `ima_template=… ima_appraise=… ima_hash=…` (≤ 1.10.x; false for an unknown version). */
  readonly supportsIMA: boolean;
  /** `embeddedMachineConfiguration` can be used (≥ 1.12). */
  readonly supportsEmbeddedConfig: boolean;
  /** `module.sig_enforce=1` by default (≥ 1.12). */
  readonly moduleSigEnforce: boolean;
  /** ISO output honours the schematic's bootloader choice (≥ 1.12). */
  readonly isoSupportsBootloader: boolean;
  /** `proc_mem.force_override=never` by default (≥ 1.13). */
  readonly procMemOverrideNever: boolean;
  /** The factory offers talosctl downloads (≥ 1.11.0-alpha.3, i.e. 1.11 once pre-release is stripped). */
  readonly supportsFactoryTalosctlDownload: boolean;
  /** `init_on_alloc=1` no longer a default arg (≥ 1.14). */
  readonly dropInitOnAlloc: boolean;
  /** `nvme_core.io_timeout=4294967295` only on AWS, as a platform arg (≥ 1.14). */
  readonly nvmeIoTimeoutAWSOnly: boolean;
  /** Secure boot adds `lockdown=confidentiality` (< 1.14; false for an unknown version). */
  readonly forceLockdownConfidentiality: boolean;
}

/** Names of the boolean quirks (usable as conditions in other data tables). */
export type BooleanQuirk = {
  [K in keyof QuirkValues]: QuirkValues[K] extends boolean ? K : never;
}[keyof QuirkValues];

/** Quirk values plus the (pre-release-stripped) version they were derived from. */
export interface Quirks extends QuirkValues {
  /** `undefined` when derived for an unknown version. */
  readonly version: TalosVersion | undefined;
}

/**
 * One quirk: its value below the first step, then the value from each step's version upward
 * (steps ascending), and the value for an unknown version.
 */
export interface QuirkRule<T> {
  readonly below: T;
  readonly steps: readonly (readonly [since: string, value: T])[];
  readonly unknown: T;
}

const since = (version: string, unknown = true): QuirkRule<boolean> => ({
  below: false,
  steps: [[version, true]],
  unknown,
});
const until = (firstWithout: string, unknown: boolean): QuirkRule<boolean> => ({
  below: true,
  steps: [[firstWithout, false]],
  unknown,
});

const GIB = 1024 * 1024 * 1024;

/** THE table of version gates (Talos `pkg/machinery/imager/quirks` at HEAD, errata §8). */
export const QUIRK_TABLE: { readonly [K in keyof QuirkValues]: QuirkRule<QuirkValues[K]> } = {
  supportsResetGrubOption: since('1.4.0'),
  supportsUKI: since('1.5.0'),
  supportsMultidoc: since('1.5.0'),
  supportsCompressedMeta: since('1.6.3'),
  supportsOverlay: since('1.7.0'),
  useZstdCompression: since('1.8.0'),
  supportsISOLabel: since('1.8.0'),
  metalConsoleTTYS0: until('1.8.0', false),
  supportsHaltIfInstalled: since('1.8.0'),
  skipDataPartitions: since('1.8.0'),
  supportsSELinux: since('1.10.0'),
  useSDBootForUEFI: since('1.10.0', false),
  usrMerge: since('1.10.0'),
  supportsUKIProfiles: since('1.10.0'),
  supportsUnifiedInstaller: since('1.10.0'),
  ukiNativeSectionOrder: since('1.10.0'),
  pcrSha1Bank: until('1.6.0', false),
  bootPartitionMiB: { below: 1000, steps: [['1.11.0', 2000]], unknown: 2000 },
  xfsMkfsConfig: {
    below: 'lts_6.1.conf',
    steps: [
      ['1.8.0', 'lts_6.6.conf'],
      ['1.10.0', 'lts_6.12.conf'],
      ['1.13.0', 'lts_6.18.conf'],
    ],
    unknown: 'lts_6.18.conf',
  },
  xfsMinAllocationGroupBytes: { below: 0, steps: [['1.14.0', 64 * GIB]], unknown: 64 * GIB },
  // Upstream: "≤ 1.10.99"; on integer versions that is "< 1.10.100".
  supportsIMA: until('1.10.100', false),
  supportsEmbeddedConfig: since('1.12.0'),
  moduleSigEnforce: since('1.12.0'),
  isoSupportsBootloader: since('1.12.0'),
  procMemOverrideNever: since('1.13.0'),
  // Upstream gate is 1.11.0-alpha.3; with the pre-release stripped that is exactly "≥ 1.11.0".
  supportsFactoryTalosctlDownload: since('1.11.0'),
  dropInitOnAlloc: since('1.14.0'),
  nvmeIoTimeoutAWSOnly: since('1.14.0'),
  forceLockdownConfidentiality: until('1.14.0', false),
};

function evaluate<T>(rule: QuirkRule<T>, v: TalosVersion | undefined): T {
  if (v === undefined) return rule.unknown;
  let value = rule.below;
  for (const [from, stepValue] of rule.steps) {
    if (compareTalosVersions(v, parseTalosVersion(from)) >= 0) value = stepValue;
  }
  return value;
}

/** Computes every quirk for a target Talos version (pre-release and build metadata ignored). */
export function deriveQuirks(version: TalosVersion | undefined): Quirks {
  const v = version === undefined ? undefined : coreVersion(version);
  const values = Object.fromEntries(
    Object.entries(QUIRK_TABLE).map(([name, rule]: [string, QuirkRule<unknown>]) => [
      name,
      evaluate(rule, v),
    ]),
  ) as unknown as QuirkValues;
  return { ...values, version: v };
}

/** A data-table row that applies only when a boolean quirk is on (`when`) or off (`unless`). */
export interface QuirkGated {
  readonly when?: BooleanQuirk;
  readonly unless?: BooleanQuirk;
}

/** True when a gated row applies under `quirks`. */
export function gateOpen(row: QuirkGated, quirks: QuirkValues): boolean {
  if (row.when !== undefined && !quirks[row.when]) return false;
  if (row.unless !== undefined && quirks[row.unless]) return false;
  return true;
}

/** Where Talos keeps kernel modules for this version. */
export function kernelModulesPath(q: QuirkValues): string {
  return q.usrMerge ? '/usr/lib/modules' : '/lib/modules';
}

/** Where Talos keeps firmware for this version. */
export function firmwarePath(q: QuirkValues): string {
  return q.usrMerge ? '/usr/lib/firmware' : '/lib/firmware';
}

/** The base installer repository name for this version (`installer-base` ≥ 1.10). */
export function installerBaseRepository(q: QuirkValues): 'installer-base' | 'installer' {
  return q.supportsUnifiedInstaller ? 'installer-base' : 'installer';
}
