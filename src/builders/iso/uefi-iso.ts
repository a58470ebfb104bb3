/**
 * The systemd-boot ISO (UEFI only; Secure Boot and arm64; talos-imager §4.3) and the dual-boot
 * ISO (GRUB for BIOS from `boot/`, systemd-boot + UKI for UEFI from the appended ESP), both with
 * the command line inside the medium.
 */
import { copyFile, link, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { grubMkrescue } from '../tools/grub-mkrescue.js';
import { xorrisofsUefi } from '../tools/xorrisofs.js';
import { touchTree } from '../tree-times.js';
import { isoGrubConfig } from './grub-config.js';
import { stageUefiIso, type UefiIsoParts } from './uefi-tree.js';

/** Inputs shared by both layouts. */
export interface UefiIsoInput {
  readonly parts: UefiIsoParts;
  readonly volume?: { readonly id: string; readonly setId: string };
  readonly epoch: number;
  readonly workDir: string;
  readonly output: string;
  readonly signal?: AbortSignal;
}

/** The systemd-boot (UEFI-only) ISO. */
export async function buildSdBootIso(o: UefiIsoInput): Promise<string> {
  const tree = join(o.workDir, 'iso');
  const esp = await stageUefiIso({
    parts: o.parts,
    isoDir: tree,
    workDir: o.workDir,
    epoch: o.epoch,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  await xorrisofsUefi({
    step: 'iso: xorrisofs',
    source: tree,
    espImage: esp,
    output: o.output,
    epoch: o.epoch,
    ...(o.volume ? { volume: o.volume } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return o.output;
}

/** The dual-boot ISO: also needs the kernel, initramfs and cmdline for GRUB's BIOS entry. */
export async function buildDualBootIso(
  o: UefiIsoInput & {
    readonly kernel: string;
    readonly initramfs: string;
    readonly cmdline: string;
    readonly resetEntry: boolean;
    /** GRUB's i386-pc directory (BIOS). */
    readonly biosGrubDirectory: string;
  },
): Promise<string> {
  const tree = join(o.workDir, 'iso');
  const esp = await stageUefiIso({
    parts: o.parts,
    isoDir: tree,
    workDir: o.workDir,
    epoch: o.epoch,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  await mkdir(join(tree, 'boot', 'grub'), { recursive: true });
  await link(o.kernel, join(tree, 'boot', 'vmlinuz')).catch(() =>
    copyFile(o.kernel, join(tree, 'boot', 'vmlinuz')),
  );
  await link(o.initramfs, join(tree, 'boot', 'initramfs.xz')).catch(() =>
    copyFile(o.initramfs, join(tree, 'boot', 'initramfs.xz')),
  );
  await writeFile(
    join(tree, 'boot', 'grub', 'grub.cfg'),
    isoGrubConfig({ cmdline: o.cmdline, resetEntry: o.resetEntry }),
  );
  await touchTree(tree, o.epoch);
  await grubMkrescue({
    step: 'iso: grub-mkrescue',
    source: tree,
    output: o.output,
    workDir: join(o.workDir, 'mkrescue'),
    epoch: o.epoch,
    // BIOS GRUB only: UEFI firmware boots systemd-boot from the appended ESP.
    options: [`--directory=${o.biosGrubDirectory}`],
    mkisofsArgs: [
      '-iso-level',
      '3',
      '-eltorito-alt-boot',
      '-e',
      '--interval:appended_partition_2:all::',
      '-append_partition',
      '2',
      '0xef',
      esp,
      '-appended_part_as_gpt',
      '-partition_cyl_align',
      'all',
      '-partition_offset',
      '16',
      '-iso_mbr_part_type',
      '0x83',
      '-no-emul-boot',
    ],
    ...(o.volume ? { volume: o.volume } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return o.output;
}
