/**
 * `mkfs.xfs` from a prototype file into an image file (talos-imager §6.2 step 2): `-n ftype=1
 * -c options=<config> -f -L <label> [-s size=<sector>] -m uuid=<guid> -p <protofile>`. The image
 * file is created (sparse) at its final size first; mkfs.xfs uses the file's size.
 */
import { open } from 'node:fs/promises';
import { type ToolOptions, runTool } from './run.js';

/** Options for {@link mkfsXfs}. */
export interface MkfsXfsOptions extends ToolOptions {
  image: string;
  sizeBytes: number;
  label: string;
  /** Filesystem UUID, text form (Talos: the partition's GUID). */
  uuid: string;
  /** Path of the feature config file. */
  configFile: string;
  protofile: string;
  /** Sector size for 4K-sector disks; omitted → mkfs default (512). */
  sectorSize?: number;
}

/** The argv after the program name. */
export function mkfsXfsArgs(o: MkfsXfsOptions): string[] {
  const args = ['-q', '-n', 'ftype=1', '-c', `options=${o.configFile}`, '-f', '-L', o.label];
  if (o.sectorSize !== undefined && o.sectorSize !== 512) args.push('-s', `size=${o.sectorSize}`);
  args.push('-m', `uuid=${o.uuid}`, '-p', o.protofile, o.image);
  return args;
}

/** Creates the image file and formats it. */
export async function mkfsXfs(o: MkfsXfsOptions): Promise<void> {
  const fh = await open(o.image, 'w');
  try {
    await fh.truncate(o.sizeBytes);
  } finally {
    await fh.close();
  }
  await runTool(o.command ?? 'mkfs.xfs', mkfsXfsArgs(o), o);
}
