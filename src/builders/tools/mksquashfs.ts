/** mksquashfs wrapper with the imager's flags for extension layers (talos-imager §2.2 step 3). */
import { type ToolOptions, runTool } from './run.js';

/** Squashfs compression choice: xz before Talos 1.8, zstd from 1.8. */
export type SquashCompression = 'xz' | 'zstd';

/** Options for {@link mksquashfs}. */
export interface MksquashfsOptions extends ToolOptions {
  source: string;
  dest: string;
  compression: SquashCompression;
  /** A file listing paths (relative to `source`, one a line) to leave out. */
  excludeFile?: string;
  /** Fixed filesystem and file timestamps, for reproducible images. */
  sourceDateEpoch?: number;
}

/** The argv after the program name. */
export function mksquashfsArgs(o: MksquashfsOptions): string[] {
  // -no-xattrs: squashfs-tools 4.5 cannot add the SELinux labels HEAD writes, and host xattrs
  // must not leak into images either.
  const args = [o.source, o.dest, '-all-root', '-noappend', '-no-progress', '-no-xattrs'];
  if (o.compression === 'zstd') args.push('-comp', 'zstd', '-Xcompression-level', '18');
  else args.push('-comp', 'xz', '-Xdict-size', '100%');
  if (o.sourceDateEpoch !== undefined)
    args.push('-mkfs-time', String(o.sourceDateEpoch), '-all-time', String(o.sourceDateEpoch));
  // `-ef` rather than `-e`: `-e` swallows every following argument.
  if (o.excludeFile !== undefined) args.push('-ef', o.excludeFile);
  return args;
}

/** Builds a squashfs image of `source` at `dest`. */
export async function mksquashfs(o: MksquashfsOptions): Promise<void> {
  await runTool(o.command ?? 'mksquashfs', mksquashfsArgs(o), o);
}
