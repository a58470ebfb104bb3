/**
 * FAT images with dosfstools + mtools (talos-imager §6.2 step 2): `mkfs.vfat -F 32 -n <label>
 * --invariant [-S sector] [-s cluster]` on a sparse file of the final size, then `mcopy -s -p -Q
 * -m -i <img> <each top-level entry> ::` from a staged tree. `--invariant` fixes the volume ID and
 * times; `-m` keeps the staged (fixed) mtimes; TZ=UTC because FAT stores local time.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import { type ToolOptions, runTool } from './run.js';

/** Options for {@link mkfsVfat}. */
export interface MkfsVfatOptions extends ToolOptions {
  image: string;
  sizeBytes: number;
  label: string;
  /** FAT variant; default 32. */
  fatBits?: 16 | 32;
  sectorSize?: number;
  /** Sectors per cluster; omitted → mkfs.vfat's choice. */
  clusterSectors?: number;
}

/** The argv after the program name. */
export function mkfsVfatArgs(o: MkfsVfatOptions): string[] {
  const args = ['-F', String(o.fatBits ?? 32), '-n', o.label, '--invariant'];
  if (o.sectorSize !== undefined && o.sectorSize !== 512) args.push('-S', String(o.sectorSize));
  if (o.clusterSectors !== undefined) args.push('-s', String(o.clusterSectors));
  args.push(o.image);
  return args;
}

/** Creates the image file and formats it FAT32. */
export async function mkfsVfat(o: MkfsVfatOptions): Promise<void> {
  const fh = await open(o.image, 'w');
  try {
    await fh.truncate(o.sizeBytes);
  } finally {
    await fh.close();
  }
  await runTool(o.command ?? 'mkfs.vfat', mkfsVfatArgs(o), o);
}

/** Options for {@link mcopyTree}. */
export interface McopyOptions extends ToolOptions {
  image: string;
  /** Staged directory. */
  dir: string;
  /** Its top-level names (copied recursively into the image root). */
  names: readonly string[];
}

/** The environment mtools runs with: UTC (FAT times are local time), no user config. */
export function mtoolsEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, TZ: 'UTC', MTOOLSRC: '/dev/null', MTOOLS_SKIP_CHECK: '1' };
}

/** Copies the staged tree into the FAT image, keeping modes-as-attributes and mtimes. */
export async function mcopyTree(o: McopyOptions): Promise<void> {
  if (o.names.length === 0) return;
  await runTool(
    o.command ?? 'mcopy',
    ['-s', '-p', '-Q', '-m', '-i', o.image, ...o.names.map((n) => path.join(o.dir, n)), '::'],
    { ...o, env: mtoolsEnv() },
  );
}
