/**
 * FAT32 sizing rules of the HEAD imager (talos-imager §4.3): the ISO's ESP image is 10 MiB plus
 * the sd-boot binary and the UKI, each rounded up to whole MiB; its cluster size is the largest of
 * 1, 2, 4 or 8 sectors that still gives at least 65525 + 2048 clusters (FAT32's minimum cluster
 * count plus headroom). Disk-image ESPs have a fixed partition size and leave the cluster size to
 * mkfs.vfat (no `-s`), as upstream does.
 *
 * One exception of ours: a FAT32 needs ≥ 65525 clusters, and the GRUB layout's 100 MiB ESP on a
 * 4096-byte-sector disk has at most 25 600. `mkfs.vfat -F 32 -S 4096` makes one anyway (with a
 * warning), but UEFI firmware rejects it (EDK2 FatPkg: FAT32 with fewer than 65525 clusters is
 * `EFI_VOLUME_CORRUPTED`; seen under OVMF) and mtools cannot write it. Such ESPs are FAT16, which
 * firmware, Linux and mtools all read. Every other ESP stays FAT32.
 */

const MIB = 1024 * 1024;
/** Below this many clusters a FAT is FAT16 by definition; the imager keeps 2048 clusters of headroom. */
export const FAT32_MIN_CLUSTERS = 65525 + 2048;

/** ESP image size for an ISO: 10 MiB + ceil(sd-boot) + ceil(UKI), in bytes. */
export function isoEspImageBytes(sdBootBytes: number, ukiBytes: number): number {
  return (10 + Math.ceil(sdBootBytes / MIB) + Math.ceil(ukiBytes / MIB)) * MIB;
}

/** Sectors per cluster for a FAT32 of `sizeBytes`: the largest of 8/4/2/1 keeping enough clusters. */
export function fat32ClusterSectors(sizeBytes: number, sectorSize: number): number {
  for (const spc of [8, 4, 2, 1]) {
    if (Math.floor(sizeBytes / (sectorSize * spc)) >= FAT32_MIN_CLUSTERS) return spc;
  }
  return 1;
}

/** FAT variant of a disk-image ESP of `sizeBytes`: FAT16 only where a FAT32 cannot be valid. */
export function espFatBits(sizeBytes: number, sectorSize: number): 16 | 32 {
  return Math.floor(sizeBytes / sectorSize) < 65525 ? 16 : 32;
}
