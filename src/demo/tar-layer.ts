/**
 * Deterministic image layers: a staged directory becomes a gzip'd tar with sorted entries, uid/gid 0,
 * mtime 0 and no `./` prefix (like buildkit layers), so identical trees give identical digests.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { FactoryError } from '../errors.js';
import { sha256File } from './hash.js';
import { run } from './exec.js';

/** A finished layer blob on disk. */
export interface LayerFile {
  /** Path of the `.tar.gz`. */
  file: string;
  /** sha256 of the compressed bytes (`sha256:<hex>`). */
  digest: string;
  /** sha256 of the uncompressed tar (`sha256:<hex>`), for the image config's diff_ids. */
  diffId: string;
  size: number;
}

/** Tars and gzips `srcDir`'s content into `outFile` (`.tar.gz`); `srcDir` must not be empty. */
export async function buildLayer(srcDir: string, outFile: string): Promise<LayerFile> {
  const entries = (await readdir(srcDir)).sort();
  if (entries.length === 0)
    throw new FactoryError('BUILD_FAILED', `fixture layer from ${srcDir}: directory is empty`);
  const tarFile = outFile.replace(/\.gz$/, '');
  await run(
    'tar',
    [
      '--create',
      `--file=${tarFile}`,
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      // Group/other write bits depend on the builder's umask; drop them for stable digests.
      '--mode=go-w',
      '--mtime=@0',
      '--format=gnu',
      '-C',
      srcDir,
      '--',
      ...entries,
    ],
    { step: `tar layer ${srcDir}` },
  );
  const diffId = await sha256File(tarFile);
  await run('bash', ['-c', 'gzip -n -6 -c -- "$0" > "$1"', tarFile, outFile], {
    step: `gzip layer ${tarFile}`,
  });
  await rm(tarFile, { force: true });
  const digest = await sha256File(outFile);
  const { size } = await stat(outFile);
  return { file: outFile, digest: `sha256:${digest}`, diffId: `sha256:${diffId}`, size };
}
