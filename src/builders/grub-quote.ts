/** Talos' GRUB quoting of a kernel command line, shared by ISO and disk-image grub.cfg files. */

/** Talos `grub.Quote`: a backslash before each of `\ { } & $ | ; < > "` (errata §5). */
export function grubQuote(s: string): string {
  return s.replace(/[\\{}&$|;<>"]/g, (c) => `\\${c}`);
}
