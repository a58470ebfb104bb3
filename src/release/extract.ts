/**
 * Flattening image layers into a directory with GNU tar (layers applied in order). Used for the
 * release's own trusted images (imager, catalogs); extension images go through the validating
 * unpacker in builders/extensions instead.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { FactoryError } from '../errors.js';

const run = promisify(execFile);

/** A layer blob on disk and its media type. */
export interface LayerFile {
  path: string;
  mediaType: string;
}

function decompressFlag(mediaType: string): string[] {
  if (mediaType.endsWith('gzip') || mediaType.endsWith('+gzip')) return ['-z'];
  if (mediaType.endsWith('+zstd') || mediaType.endsWith('.zstd')) return ['--zstd'];
  return [];
}

/** Extracts `layers` in order into `dest` (optionally only `members`). */
export async function extractLayers(
  layers: readonly LayerFile[],
  dest: string,
  members: string[] = [],
): Promise<void> {
  await mkdir(dest, { recursive: true });
  for (const layer of layers) {
    const args = [
      '-x',
      ...decompressFlag(layer.mediaType),
      '-f',
      layer.path,
      '-C',
      dest,
      '--no-same-owner',
      '--no-same-permissions',
      '--delay-directory-restore',
      ...(members.length > 0 ? ['--wildcards', ...members] : []),
    ];
    try {
      await run('tar', args, { maxBuffer: 1 << 20 });
    } catch (e) {
      const err = e as { stderr?: string; code?: number };
      const stderr = String(err.stderr ?? '').trim();
      // With member filters, a layer that lacks them is fine.
      if (
        members.length > 0 &&
        /Not found in archive/.test(stderr) &&
        !/Error is not recoverable/.test(stderr)
      )
        continue;
      throw new FactoryError(
        'BUILD_FAILED',
        `extract layer ${basename(layer.path)}: tar exited ${err.code ?? '?'}: ${stderr.slice(-500)}`,
      );
    }
  }
}
