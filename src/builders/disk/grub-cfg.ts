/**
 * `grub/grub.cfg` on BOOT, rendered as Talos' template does (talos-imager §6.1, errata §5):
 * `set default`, a blank line, timeout 3, `insmod all_video`, console terminals, the `A` entry
 * and (Talos ≥ 1.4) the reset entry; 2-space indent; no blank line between entries; no
 * `set fallback` in images. The cmdline is escaped with Talos' (incomplete) GRUB quoting.
 */

import { grubQuote } from '../grub-quote.js';

/** Inputs of {@link renderGrubCfg}. */
export interface GrubCfgInput {
  /** Talos version tag as shown in the menu, e.g. `v1.5.5`. */
  version: string;
  cmdline: string;
  /** Talos ≥ 1.4 (quirk `supportsResetGrubOption`). */
  resetEntry: boolean;
}

/** Path of the kernel and initramfs inside BOOT (boot entry `A`). */
export const GRUB_KERNEL_PATH = '/A/vmlinuz';
export const GRUB_INITRAMFS_PATH = '/A/initramfs.xz';

/** The full grub.cfg text. */
export function renderGrubCfg(input: GrubCfgInput): string {
  const name = `A - Talos ${input.version}`;
  const entry = (title: string, extra: string): string =>
    [
      `menuentry "${title}" {`,
      '  set gfxmode=auto',
      '  set gfxpayload=text',
      `  linux ${GRUB_KERNEL_PATH} ${grubQuote(input.cmdline)}${extra}`,
      `  initrd ${GRUB_INITRAMFS_PATH}`,
      '}',
      '',
    ].join('\n');
  let text =
    `set default="${name}"\n\nset timeout=3\n\ninsmod all_video\n\n` +
    'terminal_input console\nterminal_output console\n\n' +
    entry(name, '');
  if (input.resetEntry) {
    text += entry(
      'Reset Talos installation and return to maintenance mode',
      ' talos.experimental.wipe=system:EPHEMERAL,STATE',
    );
  }
  return text;
}
