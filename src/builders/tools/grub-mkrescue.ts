/**
 * grub-mkrescue wrapper (talos-imager §4.1/§4.3), made reproducible: Debian's grub-mkrescue lacks
 * Talos' `GRUB_FAT_SERIAL_NUMBER` patch and formats its EFI image with a random FAT serial, so
 * `mformat` is shadowed on PATH by a one-line wrapper adding `-N <serial>`; mtools takes file
 * times from SOURCE_DATE_EPOCH; xorriso gets fixed volume dates and a GPT disk GUID derived from
 * them; temporary files go to the build's own directory (never /tmp).
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { reproducibleXorrisoArgs } from '../reproducible.js';
import { runTool, type ToolOptions } from './run.js';

/** Options for {@link grubMkrescue}. */
export interface GrubMkrescueOptions extends ToolOptions {
  /** The ISO tree. */
  readonly source: string;
  readonly output: string;
  /** Scratch directory for the wrapper and grub-mkrescue's temporary files. */
  readonly workDir: string;
  readonly epoch: number;
  /** Extra `grub-mkrescue` options before the source (e.g. `--directory=…`, `-m efiboot.img`). */
  readonly options?: readonly string[];
  /** Extra xorriso-as-mkisofs arguments after the source (e.g. `-iso-level 3`, appended partitions). */
  readonly mkisofsArgs?: readonly string[];
  /** ISO volume ID and volume set ID (Talos ≥ 1.8). */
  readonly volume?: { readonly id: string; readonly setId: string };
}

/** The argv after the program name. */
export function grubMkrescueArgs(o: GrubMkrescueOptions): string[] {
  const args = ['--compress=xz', `--output=${o.output}`, ...(o.options ?? []), o.source];
  args.push(...(o.mkisofsArgs ?? []));
  // Native xorriso commands follow `--`.
  args.push(...reproducibleXorrisoArgs(o.epoch, o.volume));
  return args;
}

/** Runs grub-mkrescue reproducibly. */
export async function grubMkrescue(o: GrubMkrescueOptions): Promise<void> {
  const bin = join(o.workDir, 'bin');
  const tmp = join(o.workDir, 'tmp');
  await mkdir(bin, { recursive: true });
  await mkdir(tmp, { recursive: true });
  const serial = (o.epoch >>> 0).toString(16).padStart(8, '0');
  const realPath = process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin';
  // The wrapper finds the real mformat on the PATH after its own directory.
  await writeFile(
    join(bin, 'mformat'),
    `#!/bin/sh\nPATH='${realPath.replace(/'/g, "'\\''")}'\nexec mformat -N ${serial} "$@"\n`,
  );
  await chmod(join(bin, 'mformat'), 0o755);
  await runTool(o.command ?? 'grub-mkrescue', grubMkrescueArgs(o), {
    ...o,
    env: {
      ...process.env,
      PATH: `${bin}${delimiter}${realPath}`,
      TMPDIR: tmp,
      SOURCE_DATE_EPOCH: String(o.epoch),
    },
  });
}
