/** `qemu-img convert` from a raw disk (talos-imager §6.3). qemu-img skips holes, so outputs stay sparse. */
import { type ToolOptions, runTool } from './run.js';

/** qemu-img output formats used for disk images. */
export type QemuImgFormat = 'qcow2' | 'vpc' | 'vmdk';

/** Options for {@link qemuImgConvert}. */
export interface QemuImgConvertOptions extends ToolOptions {
  input: string;
  output: string;
  format: QemuImgFormat;
  /** `-o` options, e.g. `cluster_size=8k`; empty → none. */
  options?: string;
}

/** The argv after the program name. */
export function qemuImgConvertArgs(o: QemuImgConvertOptions): string[] {
  const args = ['convert', '-q', '-f', 'raw', '-O', o.format];
  if (o.options !== undefined && o.options !== '') args.push('-o', o.options);
  args.push(o.input, o.output);
  return args;
}

/** Converts a raw image. */
export async function qemuImgConvert(o: QemuImgConvertOptions): Promise<void> {
  await runTool(o.command ?? 'qemu-img', qemuImgConvertArgs(o), o);
}
