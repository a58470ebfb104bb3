/** `grub-mkimage` (talos-imager §6.2 step 3): GRUB core images without grub-install. */
import { type ToolOptions, runTool } from './run.js';

/** GRUB image formats the disk builder uses. */
export type GrubFormat = 'i386-pc' | 'x86_64-efi' | 'arm64-efi';

/** Options for {@link grubMkimage}. */
export interface GrubMkimageOptions extends ToolOptions {
  format: GrubFormat;
  output: string;
  prefix: string;
  modules: readonly string[];
  compression?: 'xz' | 'none';
  /** Module directory (`-d`); default GRUB's `/usr/lib/grub/<format>`. */
  moduleDir?: string;
}

/** The argv after the program name. */
export function grubMkimageArgs(o: GrubMkimageOptions): string[] {
  const args = ['--format', o.format, '--output', o.output, '--prefix', o.prefix];
  if (o.moduleDir !== undefined) args.push('--directory', o.moduleDir);
  if (o.compression !== undefined) args.push('--compression', o.compression);
  args.push(...o.modules);
  return args;
}

/** Builds one GRUB image. */
export async function grubMkimage(o: GrubMkimageOptions): Promise<void> {
  await runTool(o.command ?? 'grub-mkimage', grubMkimageArgs(o), o);
}
