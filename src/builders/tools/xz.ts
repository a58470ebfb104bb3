/** xz wrappers. Kernel initramfs decoders only accept CRC32 checks (toolchain §5), hence `-C crc32`. */
import { type RunningTool, type ToolOptions, spawnTool } from './run.js';

/** An xz preset: a level 0–9, optionally extreme (`0e`, the imager's). */
export const XZ_PRESET = /^[0-9]e?$/;

/** The argv compressing stdin to stdout with `preset` (talos-imager §2.5 uses `0e`). */
export function xzInitramfsArgs(preset: string): string[] {
  if (!XZ_PRESET.test(preset))
    throw new RangeError(`xz preset ${JSON.stringify(preset)} is not 0–9 with an optional e`);
  return [
    '-C',
    'crc32',
    `-${preset[0]}`,
    ...(preset.endsWith('e') ? ['-e'] : []),
    '-T',
    '0',
    '-z',
    '--quiet',
    '-c',
  ];
}

/** The imager's xz flags for the initramfs appendix (talos-imager §2.5), reading stdin. */
export const XZ_INITRAMFS_ARGS: readonly string[] = xzInitramfsArgs('0e');

/** Starts `xz` compressing stdin to stdout with `preset` (default: the imager's `0e`). */
export function xzCompress(options: ToolOptions & { preset?: string }): RunningTool {
  return spawnTool(options.command ?? 'xz', xzInitramfsArgs(options.preset ?? '0e'), options);
}

/** Starts `xz -dc <file>` (all concatenated streams) with the output on stdout. */
export function xzDecompress(path: string, options: ToolOptions): RunningTool {
  const tool = spawnTool(options.command ?? 'xz', ['-d', '-c', '--', path], options);
  tool.stdin.end();
  return tool;
}
