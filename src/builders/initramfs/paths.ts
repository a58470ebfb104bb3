/** Layout facts that depend on the target Talos version (talos-imager §2, quirks §9). */

/** Version-dependent switches the initramfs builder needs. */
export interface InitramfsQuirks {
  /** Talos ≥ 1.8: zstd for squashfs layers and the appended cpio (xz before). */
  zstd: boolean;
  /** Talos ≥ 1.10: firmware and modules live under /usr/lib (/lib before). */
  usrLib: boolean;
}

/** Firmware directory relative to an extension rootfs / the initramfs root. */
export function firmwareDir(q: InitramfsQuirks): string {
  return q.usrLib ? 'usr/lib/firmware' : 'lib/firmware';
}

/** Kernel modules directory relative to an extension rootfs / the base rootfs. */
export function modulesDir(q: InitramfsQuirks): string {
  return q.usrLib ? 'usr/lib/modules' : 'lib/modules';
}

/** Early-microcode sources (relative to the firmware dir) and their destinations in the prepended cpio. */
export const MICROCODE: readonly { dir: string; match: (name: string) => boolean; dest: string }[] = [
  { dir: 'intel-ucode', match: () => true, dest: 'kernel/x86/microcode/GenuineIntel.bin' },
  {
    dir: 'amd-ucode',
    match: (name) =>
      name.startsWith('microcode_amd') && name.endsWith('.bin') && name.length >= 'microcode_amd.bin'.length,
    dest: 'kernel/x86/microcode/AuthenticAMD.bin',
  },
];
