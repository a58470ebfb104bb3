/**
 * GRUB BIOS boot without grub-install (talos-imager §6.2 step 3, errata §5): the MBR boot code
 * is GRUB's `boot.img` with the core image's first LBA as u64le at 0x5C and `90 90` (two NOPs)
 * at 0x66 — that replaces the "boot drive check" jump so any drive number the BIOS passes is
 * used; the core image's first sector (`diskboot.img`) gets the LBA of its second sector as
 * u64le at 0x1F4 (the start of its block list). Only the first 446 bytes of boot.img go to LBA 0:
 * the partition table (446–509) and the 0x55AA signature stay the protective MBR's.
 */

/** Bytes of MBR boot code (before the partition table). */
export const MBR_BOOT_CODE_BYTES = 446;
const BOOT_IMG_KERNEL_SECTOR = 0x5c;
const BOOT_IMG_DRIVE_CHECK = 0x66;
const CORE_IMG_BLOCKLIST_START = 0x1f4;

/** The 446 bytes to write at LBA 0: `boot.img` patched to load the core image at `coreLBA`. */
export function patchBootImg(bootImg: Buffer, coreLBA: number): Buffer {
  if (bootImg.length !== 512) throw new RangeError(`grub: boot.img is ${bootImg.length} bytes, expected 512`);
  const b = Buffer.from(bootImg);
  b.writeBigUInt64LE(BigInt(coreLBA), BOOT_IMG_KERNEL_SECTOR);
  b[BOOT_IMG_DRIVE_CHECK] = 0x90;
  b[BOOT_IMG_DRIVE_CHECK + 1] = 0x90;
  return b.subarray(0, MBR_BOOT_CODE_BYTES);
}

/** `core.img` patched to continue loading from `coreLBA + 1` (it lies contiguously after its first sector). */
export function patchCoreImg(coreImg: Buffer, coreLBA: number): Buffer {
  if (coreImg.length < 512) throw new RangeError(`grub: core.img is only ${coreImg.length} bytes`);
  const c = Buffer.from(coreImg);
  c.writeBigUInt64LE(BigInt(coreLBA + 1), CORE_IMG_BLOCKLIST_START);
  return c;
}
