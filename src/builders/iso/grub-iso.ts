/**
 * The GRUB ISO (BIOS + UEFI through grub-mkrescue; talos-imager §4.1, HEAD arguments §4.3):
 * `boot/vmlinuz`, `boot/initramfs.xz`, `boot/grub/grub.cfg` carrying the kernel command line, so
 * the medium boots without anyone passing `-append`.
 */
import { copyFile, link, mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { grubMkrescue } from '../tools/grub-mkrescue.js';
import { touchTree } from '../tree-times.js';
import { isoGrubConfig } from './grub-config.js';

/** Inputs of {@link buildGrubIso}. */
export interface GrubIsoInput {
  readonly kernel: string;
  readonly initramfs: string;
  readonly cmdline: string;
  readonly resetEntry: boolean;
  /** Volume ID and set ID (Talos ≥ 1.8), else grub-mkrescue's default. */
  readonly volume?: { readonly id: string; readonly setId: string };
  readonly epoch: number;
  /** One GRUB platform directory (arm64-efi for arm64); default: every platform GRUB has installed. */
  readonly grubDirectory?: string;
  readonly workDir: string;
  readonly output: string;
  readonly signal?: AbortSignal;
}

/** Builds the ISO at `output`. */
export async function buildGrubIso(o: GrubIsoInput): Promise<string> {
  const tree = join(o.workDir, 'iso');
  await mkdir(join(tree, 'boot', 'grub'), { recursive: true });
  await place(o.kernel, join(tree, 'boot', 'vmlinuz'));
  await place(o.initramfs, join(tree, 'boot', 'initramfs.xz'));
  await writeFile(
    join(tree, 'boot', 'grub', 'grub.cfg'),
    isoGrubConfig({ cmdline: o.cmdline, resetEntry: o.resetEntry }),
  );
  await touchTree(tree, o.epoch);
  await utimes(tree, o.epoch, o.epoch);
  await grubMkrescue({
    step: 'iso: grub-mkrescue',
    source: tree,
    output: o.output,
    workDir: join(o.workDir, 'mkrescue'),
    epoch: o.epoch,
    ...(o.grubDirectory ? { options: [`--directory=${o.grubDirectory}`] } : {}),
    mkisofsArgs: ['-iso-level', '3'],
    ...(o.volume ? { volume: o.volume } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return o.output;
}

/** Hard-links `src` into the tree (same file system, no copy), copying when linking fails. */
async function place(src: string, dest: string): Promise<void> {
  await link(src, dest).catch(() => copyFile(src, dest));
}
