/**
 * What goes into the ESP and BOOT file systems per bootloader (talos-imager §6.1–6.2):
 *
 * - GRUB: ESP `EFI/boot/BOOTX64.efi` (or `BOOTAA64.efi`) = the GRUB EFI image; BOOT
 *   `A/vmlinuz`, `A/initramfs.xz` (the name stays `.xz` whatever the compression), `grub/grub.cfg`.
 * - systemd-boot: ESP `loader/loader.conf`, `EFI/Linux/Talos-<version>.efi` (the UKI),
 *   `EFI/boot/BOOTX64.efi` (sd-boot; lower-case `boot` and `.efi`), plus
 *   `loader/keys/auto/{PK,KEK,db}.auth` and a `secure-boot-enroll` line when enrolment is on.
 * - dual-boot: the systemd-boot ESP plus the GRUB BOOT tree (BIOS boots GRUB from the BIOS
 *   partition, UEFI boots sd-boot).
 */
import type { Arch } from '../../profile/build-request.js';
import type { FileTree, TreeFile } from './tree.js';

/** The removable-media boot file name (as Talos spells it). */
export function efiBootFileName(arch: Arch): string {
  return arch === 'amd64' ? 'BOOTX64.efi' : 'BOOTAA64.efi';
}

/** The ESP of a GRUB image. */
export function grubEspTree(arch: Arch, grubEfiImage: string): FileTree {
  return [{ path: `EFI/boot/${efiBootFileName(arch)}`, source: { path: grubEfiImage } }];
}

/** BOOT of GRUB and dual-boot images. */
export function grubBootTree(kernel: string, initramfs: string, grubCfg: string): FileTree {
  return [
    { path: 'A/vmlinuz', source: { path: kernel } },
    { path: 'A/initramfs.xz', source: { path: initramfs } },
    { path: 'grub/grub.cfg', source: { data: grubCfg } },
  ];
}

/** systemd-boot `secure-boot-enroll` modes. */
export type SecureBootEnrollMode = 'if-safe' | 'manual' | 'force' | 'off';

/** Key files auto-enrolled by systemd-boot (built by the secure-boot code). */
export interface EnrollKeys {
  mode: SecureBootEnrollMode;
  pk: string;
  kek: string;
  db: string;
}

/** `loader/loader.conf`: `# systemd-boot configuration`, blank, `timeout 10`, then the enrol mode if any. */
export function renderLoaderConf(enrollMode?: SecureBootEnrollMode): string {
  let text = '# systemd-boot configuration\n\ntimeout 10\n';
  if (enrollMode !== undefined) text += `\nsecure-boot-enroll ${enrollMode}\n`;
  return text;
}

/** Inputs of {@link sdBootEspTree}. */
export interface SdBootEsp {
  arch: Arch;
  /** Talos version tag, e.g. `v1.10.6` (the UKI is `EFI/Linux/Talos-<version>.efi`). */
  version: string;
  /** The (signed, for secure boot) UKI. */
  uki: string;
  /** The (signed) systemd-boot EFI binary. */
  sdBoot: string;
  enroll?: EnrollKeys;
}

/** The ESP of a systemd-boot (or dual-boot) image. */
export function sdBootEspTree(o: SdBootEsp): FileTree {
  const files: TreeFile[] = [
    { path: 'loader/loader.conf', source: { data: renderLoaderConf(o.enroll?.mode) } },
    { path: `EFI/Linux/Talos-${o.version}.efi`, source: { path: o.uki } },
    { path: `EFI/boot/${efiBootFileName(o.arch)}`, source: { path: o.sdBoot } },
  ];
  if (o.enroll !== undefined) {
    files.push(
      { path: 'loader/keys/auto/PK.auth', source: { path: o.enroll.pk } },
      { path: 'loader/keys/auto/KEK.auth', source: { path: o.enroll.kek } },
      { path: 'loader/keys/auto/db.auth', source: { path: o.enroll.db } },
    );
  }
  return files;
}
