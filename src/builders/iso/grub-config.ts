/**
 * `boot/grub/grub.cfg` of the GRUB ISO (talos-imager §4.1; errata §6: byte-for-byte, tab
 * indented; the reset entry only for Talos ≥ 1.4, otherwise the file ends with `}\n\n`).
 */
import { grubQuote } from '../grub-quote.js';

/** What goes into the ISO's grub.cfg. */
export interface IsoGrubConfigInput {
  readonly cmdline: string;
  /** Emit the "Reset Talos installation" entry (quirk `supportsResetGrubOption`). */
  readonly resetEntry: boolean;
  /** Paths inside the ISO (default `/boot/vmlinuz`, `/boot/initramfs.xz`). */
  readonly kernelPath?: string;
  readonly initrdPath?: string;
}

/** The ISO grub.cfg text. */
export function isoGrubConfig(o: IsoGrubConfigInput): string {
  const kernel = o.kernelPath ?? '/boot/vmlinuz';
  const initrd = o.initrdPath ?? '/boot/initramfs.xz';
  const entry = (title: string, extra: string): string =>
    `menuentry "${title}" {\n` +
    '\tset gfxmode=auto\n' +
    '\tset gfxpayload=text\n' +
    `\tlinux ${kernel} ${grubQuote(o.cmdline)}${extra}\n` +
    `\tinitrd ${initrd}\n` +
    '}\n';
  return (
    'set default=0\n' +
    'set timeout=3\n' +
    '\n' +
    'insmod all_video\n' +
    '\n' +
    'terminal_input console\n' +
    'terminal_output console\n' +
    '\n' +
    entry('Talos ISO', '') +
    '\n' +
    (o.resetEntry ? entry('Reset Talos installation', ' talos.experimental.wipe=system') : '')
  );
}
