/**
 * THE partition-layout table of disk images (talos-imager §6.1–6.2 "HEAD layouts", errata §5),
 * the bootloader choice and the disk-size adjustment, as data plus three small functions. Sizes
 * that depend on the target version come from quirks (`bootPartitionMiB`: 2000 from 1.11, 1000
 * before; `skipDataPartitions`: no STATE/EPHEMERAL from 1.8).
 */
import { FactoryError } from '../../errors.js';
import type { Arch } from '../../profile/build-request.js';
import { diskImageDefaults, findPlatform } from '../../profile/platforms.js';
import { gateOpen, type QuirkGated, type QuirkValues } from '../../profile/quirks.js';
import type { Bootloader } from '../../schematic/types.js';
import { GPT_ATTR_LEGACY_BIOS_BOOTABLE } from '../formats/gpt.js';
import { PARTITION_TYPE } from '../formats/guid.js';

const MIB = 1024 * 1024;

/** The bootloader layouts a disk image can have. */
export type DiskBootloader = Bootloader;

/** What goes into a partition at build time. */
export type PartitionContent =
  /** FAT32 ESP built from the bootloader's ESP tree. */
  | 'esp'
  /** GRUB i386-pc core image (amd64 GRUB and dual-boot); zero elsewhere. */
  | 'bios-core'
  /** XFS BOOT with kernel, initramfs and grub.cfg. */
  | 'boot'
  /** Talos ADV with META values (zero when there are none). */
  | 'meta'
  /** Left zero: formatted by Talos on first boot. */
  | 'none';

/** How a partition's size is derived. */
export type PartitionSize =
  /** 100 MiB: the GRUB layout's ESP. */
  | 'efi-grub'
  /** 100 + 1 + BOOT MiB: the ESP holding UKIs (sd-boot, dual-boot). */
  | 'efi-uki'
  | 'bios'
  | 'boot'
  | 'meta'
  | 'state'
  /** Everything up to the last 1 MiB boundary. */
  | 'rest';

/** One row of a layout. */
export interface PartitionRow extends QuirkGated {
  readonly label: string;
  readonly type: keyof typeof PARTITION_TYPE;
  readonly size: PartitionSize;
  readonly content: PartitionContent;
  readonly attributes?: bigint;
}

const EFI_GRUB: PartitionRow = { label: 'EFI', type: 'esp', size: 'efi-grub', content: 'esp' };
const EFI_UKI: PartitionRow = { label: 'EFI', type: 'esp', size: 'efi-uki', content: 'esp' };
const BIOS: PartitionRow = {
  label: 'BIOS',
  type: 'biosBoot',
  size: 'bios',
  content: 'bios-core',
  attributes: GPT_ATTR_LEGACY_BIOS_BOOTABLE,
};
const BOOT: PartitionRow = { label: 'BOOT', type: 'linuxData', size: 'boot', content: 'boot' };
const META: PartitionRow = { label: 'META', type: 'linuxData', size: 'meta', content: 'meta' };
const STATE: PartitionRow = {
  label: 'STATE',
  type: 'linuxData',
  size: 'state',
  content: 'none',
  unless: 'skipDataPartitions',
};
const EPHEMERAL: PartitionRow = {
  label: 'EPHEMERAL',
  type: 'linuxData',
  size: 'rest',
  content: 'none',
  unless: 'skipDataPartitions',
};

/** Partitions per bootloader, in table order (GRUB's prefix `(hd0,gpt3)` relies on BOOT being 3rd). */
export const DISK_LAYOUTS: { readonly [B in DiskBootloader]: readonly PartitionRow[] } = {
  grub: [EFI_GRUB, BIOS, BOOT, META, STATE, EPHEMERAL],
  'sd-boot': [EFI_UKI, META, STATE, EPHEMERAL],
  'dual-boot': [EFI_UKI, BIOS, BOOT, META, STATE, EPHEMERAL],
};

/** A partition of a concrete layout. */
export interface LayoutPartition {
  readonly label: string;
  readonly type: string;
  /** Bytes; 0 = rest of the disk. */
  readonly sizeBytes: number;
  readonly content: PartitionContent;
  readonly attributes: bigint;
}

/** Size in bytes of one row for a version (0 for `rest`). */
export function partitionBytes(size: PartitionSize, quirks: QuirkValues): number {
  const boot = quirks.bootPartitionMiB;
  const mib: Record<PartitionSize, number> = {
    'efi-grub': 100,
    'efi-uki': 100 + 1 + boot,
    bios: 1,
    boot,
    meta: 1,
    state: 100,
    rest: 0,
  };
  return mib[size] * MIB;
}

/** The partitions of a disk image for a bootloader and target version. */
export function diskLayout(bootloader: DiskBootloader, quirks: QuirkValues): LayoutPartition[] {
  return DISK_LAYOUTS[bootloader]
    .filter((row) => gateOpen(row, quirks))
    .map((row) => ({
      label: row.label,
      type: PARTITION_TYPE[row.type],
      sizeBytes: partitionBytes(row.size, quirks),
      content: row.content,
      attributes: row.attributes ?? 0n,
    }));
}

/** Inputs of {@link chooseBootloader}. */
export interface BootloaderChoice {
  /** The schematic's `bootloader` (absent = automatic). */
  requested?: Bootloader;
  arch: Arch;
  secureBoot: boolean;
  quirks: QuirkValues;
}

/**
 * The HEAD imager's default (secure boot → sd-boot; Talos ≥ 1.10 → dual-boot on amd64, sd-boot
 * on arm64; else GRUB), or the schematic's choice when it can work: GRUB and dual-boot cannot do
 * secure boot, dual-boot is amd64-only, and sd-boot layouts need UKIs (Talos ≥ 1.5).
 */
export function chooseBootloader(c: BootloaderChoice): DiskBootloader {
  if (c.requested === undefined) {
    if (c.secureBoot) return 'sd-boot';
    if (c.quirks.useSDBootForUEFI) return c.arch === 'amd64' ? 'dual-boot' : 'sd-boot';
    return 'grub';
  }
  const bad = (why: string): never => {
    throw new FactoryError('PROFILE_INVALID', `bootloader "${c.requested}" ${why}`);
  };
  if (c.secureBoot && c.requested !== 'sd-boot') bad('cannot boot secure-boot images (use sd-boot)');
  if (c.requested === 'dual-boot' && c.arch !== 'amd64') bad(`is only available for amd64, not ${c.arch}`);
  if (c.requested !== 'grub' && !c.quirks.supportsUKI)
    bad('needs a UKI, which this Talos version cannot build');
  return c.requested;
}

/**
 * The disk size the imager really uses for a profile's default size (§6.2): + (BOOT − 1000 MiB),
 * and for dual-boot also + (1 + BOOT) MiB for the larger ESP.
 */
export function adjustedDiskSizeMiB(
  defaultMiB: number,
  bootloader: DiskBootloader,
  quirks: QuirkValues,
): number {
  const boot = quirks.bootPartitionMiB;
  let size = defaultMiB + (boot - 1000);
  if (bootloader === 'dual-boot') size += 1 + boot;
  return size;
}

/** The META value Talos ≥ 1.10 stamps into amd64 non-secure-boot dual-boot images (key 0x11). */
export function bootloaderMetaValue(
  bootloader: DiskBootloader,
  arch: Arch,
  secureBoot: boolean,
  quirks: QuirkValues,
): string | undefined {
  return bootloader === 'dual-boot' && arch === 'amd64' && !secureBoot && quirks.useSDBootForUEFI
    ? 'dual-boot'
    : undefined;
}

/** The disk size of an image for a platform: its built-in profile size (8192 MiB without one), adjusted. */
export function defaultDiskSizeMiB(
  platform: string,
  bootloader: DiskBootloader,
  quirks: QuirkValues,
): number {
  const { diskSizeMiB } = diskImageDefaults(findPlatform(platform), '');
  return adjustedDiskSizeMiB(diskSizeMiB, bootloader, quirks);
}
