/**
 * One call from inputs to the finished disk-image asset: the raw disk (build-raw.ts), then the
 * container format and compression the path asked for (output.ts), in a private work directory
 * that is removed on success and on failure; nothing partial is ever left at `output`. A file
 * system that fills up mid-build (ENOSPC from our own writes, or "No space left on device" from a
 * tool) becomes one clear BUILD_FAILED message instead of an internal error.
 */
import { mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { FactoryError } from '../../errors.js';
import type { Compression, DiskFormat } from '../../profile/build-request.js';
import { buildRawDiskImage, type RawDiskInput, type RawDiskResult } from './build-raw.js';
import { finishDiskImage } from './output.js';

/** Inputs of {@link buildDiskImage}. */
export interface DiskImageInput extends Omit<RawDiskInput, 'workDir' | 'output'> {
  format: DiskFormat;
  /** qemu-img `-o` options (profile or path: `cluster_size=8k`, `subformat=fixed,force_size`). */
  formatOptions: string;
  compression: Compression;
  /** Where the finished asset goes (written as `<output>.partial`, then renamed). */
  output: string;
  /** Parent directory for the private work directory (same file system as `output` is best). */
  scratchDir: string;
  /** Seed of IDs that tools would randomise (VHD unique ID), e.g. the cache key. */
  uniqueIdSeed?: string;
}

/** What was built. */
export interface DiskImageResult extends Omit<RawDiskResult, 'path'> {
  path: string;
}

/** Builds the disk image asset at `input.output`. */
export async function buildDiskImage(input: DiskImageInput): Promise<DiskImageResult> {
  const work = await mkdtemp(path.join(input.scratchDir, 'disk-image-'));
  try {
    const raw = await buildRawDiskImage({
      ...input,
      workDir: path.join(work, 'raw'),
      output: path.join(work, 'disk.raw'),
    });
    const partial = `${input.output}.partial`;
    try {
      await finishDiskImage({
        raw: raw.path,
        format: input.format,
        formatOptions: input.formatOptions,
        compression: input.compression,
        output: partial,
        workDir: path.join(work, 'out'),
        sourceDateEpoch: input.sourceDateEpoch,
        uniqueIdSeed: input.uniqueIdSeed,
        signal: input.signal,
      });
      await rename(partial, input.output);
    } catch (e) {
      await rm(partial, { force: true });
      throw e;
    }
    return { ...raw, path: input.output };
  } catch (e) {
    if (isNoSpace(e))
      throw new FactoryError('BUILD_FAILED', 'disk image: no space left on the build file system', {
        cause: e,
      });
    throw e;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** True for ENOSPC anywhere in the cause chain or a tool's "No space left on device". */
export function isNoSpace(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur !== undefined && cur !== null && depth < 8; depth++) {
    if ((cur as { code?: unknown }).code === 'ENOSPC') return true;
    if (cur instanceof Error && /No space left on device/i.test(cur.message)) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}
