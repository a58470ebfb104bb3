/**
 * Disk-image post-processing (talos-imager §6.4): `xz -0 -T0`, `pigz -6 --no-time`, `zstd -T0
 * -18`, each reading the (sparse) input file and writing a new file; and GCP's `.tar.gz`:
 * GNU tar with `--sparse` (hole detection by content, so the archive depends only on the bytes,
 * not on how the file system allocated them), fixed owner and mtime, piped through pigz.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { FactoryError } from '../../errors.js';
import { type ToolOptions, runTool, spawnTool } from './run.js';

/** Compressions of disk images. */
export type DiskCompression = 'xz' | 'gz' | 'zst';

/** The compressor argv (reads `input`, writes stdout). */
export function compressArgs(kind: DiskCompression, input: string): { command: string; args: string[] } {
  switch (kind) {
    case 'xz':
      return { command: 'xz', args: ['-0', '-T', '0', '-c', '--', input] };
    case 'gz':
      return { command: 'pigz', args: ['-6', '--no-time', '-c', '--', input] };
    case 'zst':
      return { command: 'zstd', args: ['-T0', '-18', '--quiet', '-c', '--', input] };
  }
}

/** Compresses `input` into `output`. */
export async function compressFile(
  kind: DiskCompression,
  input: string,
  output: string,
  o: ToolOptions,
): Promise<void> {
  const { command, args } = compressArgs(kind, input);
  await runTool(o.command ?? command, args, { ...o, stdout: { path: output } });
}

/** Options for {@link tarGzSparse}. */
export interface TarGzSparseOptions extends ToolOptions {
  /** Directory holding the member. */
  dir: string;
  /** Member name inside the archive (GCP: `disk.raw`). */
  member: string;
  output: string;
  mtime: number;
}

/** GNU tar argv for one sparse member on stdout. */
export function tarSparseArgs(o: TarGzSparseOptions): string[] {
  return [
    '--create',
    '--file=-',
    '--format=gnu',
    '--sparse',
    '--hole-detection=raw',
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    `--mtime=@${o.mtime}`,
    '--mode=0644',
    '-C',
    o.dir,
    '--',
    o.member,
  ];
}

/** `tar … | pigz -6 --no-time` into `output`. */
export async function tarGzSparse(o: TarGzSparseOptions): Promise<void> {
  const tar = spawnTool('tar', tarSparseArgs(o), { ...o, env: { PATH: process.env.PATH, LC_ALL: 'C' } });
  tar.stdin.end();
  const gz = spawnTool('pigz', ['-6', '--no-time', '-c'], o);
  const out = createWriteStream(o.output);
  const piping = Promise.all([pipeline(tar.stdout, gz.stdin), pipeline(gz.stdout, out)]);
  const [a, b, c] = await Promise.allSettled([tar.done, gz.done, piping]);
  for (const r of [a, b]) if (r.status === 'rejected') throw r.reason;
  if (c.status === 'rejected')
    throw new FactoryError('BUILD_FAILED', `${o.step}: writing the archive failed: ${String(c.reason)}`, {
      cause: c.reason,
    });
}
