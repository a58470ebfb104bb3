/**
 * `xorriso -as mkisofs` for the systemd-boot (UEFI-only) ISO (talos-imager §4.3): the ESP image
 * appended as partition 2 and used as the El Torito EFI boot image, then the same native
 * commands as grub-mkrescue gets for fixed dates, GPT GUID and volume IDs.
 */
import { reproducibleXorrisoArgs } from '../reproducible.js';
import { runTool, type ToolOptions } from './run.js';

/** Options for {@link xorrisofsUefi}. */
export interface XorrisofsUefiOptions extends ToolOptions {
  readonly source: string;
  readonly espImage: string;
  readonly output: string;
  readonly epoch: number;
  readonly volume?: { readonly id: string; readonly setId: string };
}

/** The argv after `xorriso`. */
export function xorrisofsUefiArgs(o: XorrisofsUefiOptions): string[] {
  const args = ['-as', 'mkisofs'];
  args.push('-e', '--interval:appended_partition_2:all::', '-append_partition', '2', '0xef', o.espImage);
  args.push('-partition_cyl_align', 'all', '-partition_offset', '16', '-iso_mbr_part_type', '0x83');
  args.push('-no-emul-boot', '-iso-level', '3', '-o', o.output, o.source);
  // Native xorriso commands follow `--`.
  args.push(...reproducibleXorrisoArgs(o.epoch, o.volume));
  return args;
}

/** Builds the UEFI ISO. */
export async function xorrisofsUefi(o: XorrisofsUefiOptions): Promise<void> {
  await runTool(o.command ?? 'xorriso', xorrisofsUefiArgs(o), {
    ...o,
    env: { ...process.env, SOURCE_DATE_EPOCH: String(o.epoch) },
  });
}
