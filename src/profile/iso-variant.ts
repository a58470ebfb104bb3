/**
 * Which ISO layout a request gets (talos-imager §4.3, HEAD `outISO`; errata §6): secure boot →
 * the systemd-boot (UEFI) ISO; Talos ≥ 1.12 → the schematic's bootloader (default dual-boot on
 * amd64, systemd-boot on arm64); 1.10–1.11 → hybrid (GRUB for BIOS, systemd-boot for UEFI) on
 * amd64; older → GRUB only (BIOS + UEFI).
 */
import { FactoryError } from '../errors.js';
import type { Bootloader } from '../schematic/types.js';
import type { Arch } from './asset-request.js';
import type { QuirkValues } from './quirks.js';

/** An ISO layout. */
export type IsoVariant = 'grub' | 'sd-boot' | 'dual-boot';

/** The ISO layout for a request. */
export function isoVariant(o: {
  readonly quirks: QuirkValues;
  readonly arch: Arch;
  readonly secureBoot: boolean;
  readonly bootloader: Bootloader | undefined;
}): IsoVariant {
  if (o.secureBoot) return 'sd-boot';
  const fallback: IsoVariant = o.arch === 'amd64' ? 'dual-boot' : 'sd-boot';
  if (o.quirks.isoSupportsBootloader) {
    const chosen = o.bootloader ?? fallback;
    if (chosen === 'dual-boot' && o.arch !== 'amd64') {
      throw new FactoryError(
        'PROFILE_INVALID',
        'error enhancing profile from schematic: bootloader dual-boot needs BIOS, which arm64 does not have',
      );
    }
    return chosen;
  }
  if (o.quirks.useSDBootForUEFI) return fallback;
  return 'grub';
}
