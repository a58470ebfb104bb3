/** zstd wrappers. */
import { type RunningTool, type ToolOptions, spawnTool } from './run.js';

/** The argv compressing stdin to stdout at `level` on all cores (talos-imager §2.5 uses 18). */
export function zstdInitramfsArgs(level: number): string[] {
  if (!Number.isInteger(level) || level < 1 || level > 19)
    throw new RangeError(`zstd level ${level} is not 1–19`);
  return ['-T0', `-${level}`, '-c', '--quiet'];
}

/** The imager's zstd flags for the initramfs appendix (Talos ≥ 1.8, talos-imager §2.5), reading stdin. */
export const ZSTD_INITRAMFS_ARGS: readonly string[] = zstdInitramfsArgs(18);

/** Starts `zstd` compressing stdin to stdout at `level` (default: the imager's 18). */
export function zstdCompress(options: ToolOptions & { level?: number }): RunningTool {
  return spawnTool(options.command ?? 'zstd', zstdInitramfsArgs(options.level ?? 18), options);
}

/** Starts `zstd -dc <file>` (all frames) with the output on stdout. */
export function zstdDecompress(path: string, options: ToolOptions): RunningTool {
  const tool = spawnTool(options.command ?? 'zstd', ['-d', '-c', '--quiet', '--', path], options);
  tool.stdin.end();
  return tool;
}
