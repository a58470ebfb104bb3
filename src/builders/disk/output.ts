/**
 * From a raw disk to what the path asked for (talos-imager §6.3–6.4, image-factory §3.1 rule 8):
 * container format (raw, qcow2, vhd, ova) then compression (none, xz, gz, zst, or GCP's
 * `.tar.gz` holding `disk.raw`). Every intermediate stays sparse: qemu-img skips holes, the
 * compressors read holes as zeros without anything being allocated, and tar stores `disk.raw` as
 * a sparse member. The bytes that tools randomise or time-stamp (VHD footer, VMDK CID) are fixed.
 */
import { createHash } from 'node:crypto';
import { link, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Compression, DiskFormat } from '../../profile/build-request.js';
import { patchVhdFooter } from '../formats/vhd-footer.js';
import { compressFile, tarGzSparse } from '../tools/compress.js';
import { qemuImgConvert } from '../tools/qemu-img.js';
import { throwIfAborted } from '../tools/run.js';
import { buildOva } from './ova.js';

/** The member name of GCP archives. */
export const GCP_TAR_MEMBER = 'disk.raw';

/** Inputs of {@link finishDiskImage}. */
export interface DiskOutputInput {
  /** The raw disk (consumed: it may be renamed into place). */
  raw: string;
  format: DiskFormat;
  /** qemu-img `-o` options from the profile (`cluster_size=8k`, `subformat=fixed,force_size`). */
  formatOptions: string;
  compression: Compression;
  output: string;
  /** Scratch directory owned by the caller. */
  workDir: string;
  /** Time written into VHD footers and tar headers; default 0. */
  sourceDateEpoch?: number;
  /** Seed of the VHD unique ID (e.g. the cache key); default a fixed string. */
  uniqueIdSeed?: string;
  signal?: AbortSignal;
}

/** Converts and compresses; returns the output path. */
export async function finishDiskImage(o: DiskOutputInput): Promise<string> {
  const step = `disk image: ${o.format}${o.compression === 'none' ? '' : `.${o.compression}`}`;
  const epoch = o.sourceDateEpoch ?? 0;
  await mkdir(o.workDir, { recursive: true });
  let image = o.raw;
  switch (o.format) {
    case 'raw':
      break;
    case 'qcow2':
      image = path.join(o.workDir, 'disk.qcow2');
      await qemuImgConvert({
        input: o.raw,
        output: image,
        format: 'qcow2',
        options: o.formatOptions,
        step,
        signal: o.signal,
      });
      break;
    case 'vhd': {
      image = path.join(o.workDir, 'disk.vhd');
      await qemuImgConvert({
        input: o.raw,
        output: image,
        format: 'vpc',
        options: o.formatOptions,
        step,
        signal: o.signal,
      });
      const seed = createHash('sha256')
        .update(`talos-image-vhd:${o.uniqueIdSeed ?? ''}`)
        .digest();
      await patchVhdFooter(image, epoch, seed.subarray(0, 16));
      break;
    }
    case 'ova': {
      image = path.join(o.workDir, 'disk.ova');
      const dir = path.join(o.workDir, 'ova');
      await mkdir(dir, { recursive: true });
      await buildOva({ raw: o.raw, output: image, workDir: dir, mtime: epoch, step, signal: o.signal });
      break;
    }
  }
  throwIfAborted(o.signal, step);
  switch (o.compression) {
    case 'none':
      await rename(image, o.output);
      break;
    case 'xz':
    case 'gz':
    case 'zst':
      await compressFile(o.compression, image, o.output, { step, signal: o.signal });
      break;
    case 'tar.gz': {
      const dir = path.join(o.workDir, 'tar');
      await mkdir(dir, { recursive: true });
      await link(image, path.join(dir, GCP_TAR_MEMBER));
      await tarGzSparse({
        dir,
        member: GCP_TAR_MEMBER,
        output: o.output,
        mtime: epoch,
        step,
        signal: o.signal,
      });
      break;
    }
  }
  return o.output;
}
