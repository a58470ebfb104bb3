/**
 * File-system images built from trees, each as its own file (talos-imager §6.2 step 2):
 *
 * - the ESP: `mkfs.vfat --invariant` (FAT32; FAT16 only where a FAT32 cannot be valid, see
 *   fat32-geometry.ts) on a sparse file, then the tree staged with fixed times and `mcopy`'d in;
 *   FAT has no times before 1980, so ESP files get at least 1980-01-01;
 * - BOOT: `mkfs.xfs -p <protofile>` (uid/gid 0) with the version's feature set and the partition
 *   GUID as file-system UUID, then every inode's times set to the fixed time (xfsprogs 6.1 stamps
 *   the build time; see formats/xfs-inode-times.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FactoryError } from '../../errors.js';
import { espFatBits } from '../formats/fat32-geometry.js';
import { setXfsInodeTimes } from '../formats/xfs-inode-times.js';
import { mcopyTree, mkfsVfat } from '../tools/mkfs-vfat.js';
import { mkfsXfs } from '../tools/mkfs-xfs.js';
import { stageTree, topLevelNames, type FileTree } from './tree.js';
import { xfsConfigText } from './xfs-config.js';
import { writeXfsProtofile } from './xfs-protofile.js';

/** FAT cannot store times before 1980-01-01; ESP files get at least this time. */
export const FAT_EPOCH_MIN = 315532800;

/** Options common to both builders. */
export interface FsImageOptions {
  /** Image file to create. */
  file: string;
  sizeBytes: number;
  sectorSize: number;
  tree: FileTree;
  /** Fixed time of every entry (seconds). */
  epoch: number;
  /** Scratch directory for staging (created if missing). */
  workDir: string;
  /** Error message prefix, e.g. `disk image`. */
  step: string;
  signal?: AbortSignal;
}

/** Builds a FAT ESP image labelled `EFI` holding `tree`. */
export async function buildEspImage(o: FsImageOptions & { label?: string }): Promise<void> {
  await mkfsVfat({
    image: o.file,
    sizeBytes: o.sizeBytes,
    label: o.label ?? 'EFI',
    fatBits: espFatBits(o.sizeBytes, o.sectorSize),
    sectorSize: o.sectorSize,
    step: `${o.step}: EFI file system`,
    signal: o.signal,
  });
  const dir = path.join(o.workDir, 'esp-tree');
  await mkdir(dir, { recursive: true });
  await stageTree(dir, o.tree, Math.max(o.epoch, FAT_EPOCH_MIN), `${o.step}: EFI tree`);
  await mcopyTree({
    image: o.file,
    dir,
    names: topLevelNames(o.tree),
    step: `${o.step}: EFI files`,
    signal: o.signal,
  });
}

/** Options of {@link buildBootImage}. */
export interface BootImageOptions extends FsImageOptions {
  /** Feature-set name (quirk `xfsMkfsConfig`, e.g. `lts_6.6.conf`). */
  xfsConfig: string;
  /** File-system UUID (Talos: the BOOT partition GUID). */
  uuid: string;
  label?: string;
}

/** Builds the XFS BOOT image holding `tree`. */
export async function buildBootImage(o: BootImageOptions): Promise<void> {
  const dir = path.join(o.workDir, 'boot-proto');
  await mkdir(dir, { recursive: true });
  const { protofile } = await writeXfsProtofile(o.tree, dir, `${o.step}: BOOT tree`);
  const configFile = path.join(dir, 'xfs.conf');
  await writeFile(configFile, xfsConfigText(o.xfsConfig));
  await mkfsXfs({
    image: o.file,
    sizeBytes: o.sizeBytes,
    label: o.label ?? 'BOOT',
    uuid: o.uuid,
    configFile,
    protofile,
    sectorSize: o.sectorSize,
    step: `${o.step}: BOOT file system`,
    signal: o.signal,
  });
  try {
    await setXfsInodeTimes(o.file, o.epoch);
  } catch (e) {
    throw new FactoryError('BUILD_FAILED', `${o.step}: BOOT timestamps: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
