/** xz wrappers. Kernel initramfs decoders only accept CRC32 checks (toolchain §5), hence `-C crc32`. */
import { type RunningTool, type ToolOptions, spawnTool } from './run.js';

/** The imager's xz flags for the initramfs appendix (talos-imager §2.5), reading stdin. */
export const XZ_INITRAMFS_ARGS: readonly string[] = [
  '-C',
  'crc32',
  '-0',
  '-e',
  '-T',
  '0',
  '-z',
  '--quiet',
  '-c',
];

/** Starts `xz` compressing stdin to stdout with the initramfs flags. */
export function xzCompress(options: ToolOptions): RunningTool {
  return spawnTool(options.command ?? 'xz', XZ_INITRAMFS_ARGS, options);
}

/** Starts `xz -dc <file>` (all concatenated streams) with the output on stdout. */
export function xzDecompress(path: string, options: ToolOptions): RunningTool {
  const tool = spawnTool(options.command ?? 'xz', ['-d', '-c', '--', path], options);
  tool.stdin.end();
  return tool;
}
