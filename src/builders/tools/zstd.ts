/** zstd wrappers. */
import { type RunningTool, type ToolOptions, spawnTool } from './run.js';

/** The imager's zstd flags for the initramfs appendix (Talos ≥ 1.8, talos-imager §2.5), reading stdin. */
export const ZSTD_INITRAMFS_ARGS: readonly string[] = ['-T0', '-18', '-c', '--quiet'];

/** Starts `zstd` compressing stdin to stdout with the initramfs flags. */
export function zstdCompress(options: ToolOptions): RunningTool {
  return spawnTool(options.command ?? 'zstd', ZSTD_INITRAMFS_ARGS, options);
}

/** Starts `zstd -dc <file>` (all frames) with the output on stdout. */
export function zstdDecompress(path: string, options: ToolOptions): RunningTool {
  const tool = spawnTool(options.command ?? 'zstd', ['-d', '-c', '--quiet', '--', path], options);
  tool.stdin.end();
  return tool;
}
