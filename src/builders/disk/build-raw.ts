/**
 * Builds a raw Talos disk image without root, loop devices or mounts (the Talos ≥ 1.13 imager
 * procedure, talos-imager §6.2, for every target version): layout from the version and
 * bootloader, GPT with label-derived GUIDs, each file system built as its own image file
 * (FAT32 ESP, XFS BOOT), GRUB's BIOS boot code patched in, META as a Talos ADV, everything
 * copied into a sparse file with only its data blocks written.
 */
import { open, readFile, rename, rm, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { FactoryError } from '../../errors.js';
import type { Arch } from '../../profile/build-request.js';
import { deriveQuirks, type Quirks } from '../../profile/quirks.js';
import { parseTalosVersion } from '../../profile/version.js';
import type { Bootloader, MetaValue } from '../../schematic/types.js';
import { allocateGpt, encodeGpt, partitionExtent, type GptTable, type SectorSize } from '../formats/gpt.js';
import { patchBootImg, patchCoreImg } from '../formats/grub-boot-sector.js';
import { labelGuid, TALOS_DISK_GUID_LABEL } from '../formats/guid.js';
import { encodeTalosAdv, META_KEY, type AdvRecord } from '../formats/talos-adv.js';
import { throwIfAborted } from '../tools/run.js';
import { dataExtents } from '../tools/xfs-io.js';
import { type EnrollKeys, grubBootTree, grubEspTree, sdBootEspTree } from './esp.js';
import { renderGrubCfg } from './grub-cfg.js';
import { buildGrubCoreImage, buildGrubEfiImage, grubBootImgPath, type GrubDirs } from './grub-images.js';
import {
  bootloaderMetaValue,
  chooseBootloader,
  diskLayout,
  type DiskBootloader,
  type LayoutPartition,
} from './layouts.js';
import { copyDataBlocks, writeDataRuns } from './sparse-copy.js';
import { type FileTree } from './tree.js';
import { buildBootImage, buildEspImage } from './filesystems.js';

const MIB = 1024 * 1024;

/** Inputs of {@link buildRawDiskImage}. */
export interface RawDiskInput {
  /** Talos version tag, e.g. `v1.8.3` (quirks and the boot entry names derive from it). */
  version: string;
  arch: Arch;
  secureBoot: boolean;
  /** The schematic's `bootloader` (absent = the version's default). */
  bootloader?: Bootloader;
  /** Final disk size (see `defaultDiskSizeMiB`). */
  diskSizeMiB: number;
  /** 512 (default) or 4096 (`metal-4k`, schematic `diskImage.sectorSize`). */
  sectorSize?: SectorSize;
  /** Kernel command line for GRUB entries (sd-boot takes it from the UKI). */
  cmdline: string;
  /** Kernel and initramfs: needed by GRUB and dual-boot layouts. */
  kernel?: string;
  initramfs?: string;
  /** UKI and systemd-boot binary (signed for secure boot): needed by sd-boot and dual-boot layouts. */
  uki?: string;
  sdBoot?: string;
  /** Secure-boot key enrolment files for the sd-boot ESP. */
  enroll?: EnrollKeys;
  /** Schematic META values (key 0–255). */
  meta?: readonly MetaValue[];
  /** Overlay `partitionOptions.offset`: LBAs skipped before the GPT entry array. */
  skipLBAs?: number;
  grubDirs?: GrubDirs;
  /** Fixed time of every file (seconds); default 0. */
  sourceDateEpoch?: number;
  /** Scratch directory owned by the caller (empty; the caller removes it). */
  workDir: string;
  output: string;
  signal?: AbortSignal;
  /**
   * Runs after the GPT is written to `rawPath` and before the file systems are built: overlay
   * installers write boot firmware into the raw file and return extra ESP and BOOT files
   * (`overlayInstall` in overlay-installer.ts fits here as it is).
   */
  beforeFilesystems?: (ctx: {
    rawPath: string;
    table: GptTable;
  }) => Promise<{ espFiles?: FileTree; bootFiles?: FileTree } | void>;
  /** Called with each step's name and duration (for benchmarks and logs). */
  onStep?: (step: string, ms: number) => void;
}

/** What was built. */
export interface RawDiskResult {
  path: string;
  diskBytes: number;
  bootloader: DiskBootloader;
  quirks: Quirks;
  table: GptTable;
  layout: LayoutPartition[];
  /** Bytes written into the raw file (data blocks only). */
  bytesWritten: number;
}

/** Builds the raw disk image at `input.output`. */
export async function buildRawDiskImage(input: RawDiskInput): Promise<RawDiskResult> {
  const step = 'disk image';
  const quirks = deriveQuirks(parseTalosVersion(input.version));
  const bootloader = chooseBootloader({
    requested: input.bootloader,
    arch: input.arch,
    secureBoot: input.secureBoot,
    quirks,
  });
  const sectorSize = input.sectorSize ?? 512;
  const epoch = input.sourceDateEpoch ?? 0;
  const layout = diskLayout(bootloader, quirks);
  const diskBytes = input.diskSizeMiB * MIB;
  let table: GptTable;
  try {
    table = allocateGpt(
      { diskBytes, sectorSize, diskGuid: labelGuid(TALOS_DISK_GUID_LABEL), skipLBAs: input.skipLBAs },
      layout.map((p) => ({
        label: p.label,
        type: p.type,
        guid: labelGuid(p.label),
        sizeBytes: p.sizeBytes,
        attributes: p.attributes,
      })),
    );
  } catch (e) {
    throw new FactoryError('BUILD_FAILED', `${step}: partition table: ${(e as Error).message}`, { cause: e });
  }
  const needs = (what: string, value: string | undefined): string => {
    if (value === undefined)
      throw new FactoryError('BUILD_FAILED', `${step}: the ${bootloader} layout needs the ${what}`);
    return value;
  };
  const usesGrub = bootloader !== 'sd-boot';
  const grubBios = usesGrub && input.arch === 'amd64';
  await mkdir(input.workDir, { recursive: true });
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      input.onStep?.(name, performance.now() - started);
    }
  };
  const work = (name: string): string => path.join(input.workDir, name);

  // 1. Sparse raw file with the partition table (and room for an overlay's boot firmware).
  const partial = `${input.output}.partial`;
  let bytesWritten = 0;
  const raw = await open(partial, 'w');
  try {
    await raw.truncate(diskBytes);
    for (const w of encodeGpt(table)) bytesWritten += await writeDataRuns(raw, w.data, w.offset);
  } finally {
    await raw.close();
  }
  try {
    const extra = (await input.beforeFilesystems?.({ rawPath: partial, table })) ?? {};
    throwIfAborted(input.signal, step);

    // 2. File system images and boot code, ESP and BOOT concurrently.
    const part = (label: string): { offset: number; length: number } => {
      const p = table.partitions.find((x) => x.label === label);
      if (p === undefined) throw new FactoryError('INTERNAL', `${step}: layout has no ${label} partition`);
      return partitionExtent(table, p);
    };
    const images: { label: string; file: string }[] = [];
    const espImage = async (): Promise<void> => {
      let tree: FileTree;
      if (bootloader === 'grub') {
        const efi = work('grub-efi.img');
        await buildGrubEfiImage(
          efi,
          input.arch,
          input.grubDirs ?? {},
          `${step}: GRUB EFI image`,
          input.signal,
        );
        tree = grubEspTree(input.arch, efi);
      } else {
        tree = sdBootEspTree({
          arch: input.arch,
          version: input.version,
          uki: needs('UKI', input.uki),
          sdBoot: needs('systemd-boot binary', input.sdBoot),
          enroll: input.enroll,
        });
      }
      tree = [...tree, ...(extra.espFiles ?? [])];
      const file = work('esp.img');
      await buildEspImage({
        file,
        sizeBytes: part('EFI').length,
        sectorSize,
        tree,
        epoch,
        workDir: input.workDir,
        step,
        signal: input.signal,
      });
      images.push({ label: 'EFI', file });
    };
    const bootImage = async (): Promise<void> => {
      if (!usesGrub) {
        if ((extra.bootFiles ?? []).length > 0)
          throw new FactoryError(
            'BUILD_FAILED',
            `${step}: the ${bootloader} layout has no BOOT for overlay files`,
          );
        return;
      }
      const cfg = renderGrubCfg({
        version: input.version,
        cmdline: input.cmdline,
        resetEntry: quirks.supportsResetGrubOption,
      });
      const tree = [
        ...grubBootTree(needs('kernel', input.kernel), needs('initramfs', input.initramfs), cfg),
        ...(extra.bootFiles ?? []),
      ];
      const file = work('boot.img');
      await buildBootImage({
        file,
        sizeBytes: part('BOOT').length,
        sectorSize,
        tree,
        epoch,
        workDir: input.workDir,
        step,
        signal: input.signal,
        xfsConfig: quirks.xfsMkfsConfig,
        uuid: labelGuid('BOOT'),
      });
      images.push({ label: 'BOOT', file });
    };
    const core = work('core.img');
    const coreImage = async (): Promise<void> => {
      if (grubBios)
        await buildGrubCoreImage(core, input.grubDirs ?? {}, `${step}: GRUB BIOS image`, input.signal);
    };
    await Promise.all([timed('esp', espImage), timed('boot', bootImage), timed('bios', coreImage)]);
    throwIfAborted(input.signal, step);

    // 3. Copy everything into the raw file: data blocks only.
    const out = await open(partial, 'r+');
    try {
      for (const img of images.sort((a, b) => a.label.localeCompare(b.label))) {
        const { offset, length } = part(img.label);
        try {
          const copied = await timed(`copy ${img.label}`, async () =>
            copyDataBlocks(img.file, out, offset, length, {
              extents: await dataExtents(img.file, {
                step: `${step}: ${img.label} extents`,
                signal: input.signal,
              }),
              signal: input.signal,
            }),
          );
          bytesWritten += copied.bytesWritten;
        } catch (e) {
          if (input.signal?.aborted) throw e;
          throw new FactoryError('BUILD_FAILED', `${step}: copying ${img.label}: ${(e as Error).message}`, {
            cause: e,
          });
        }
      }
      if (grubBios) {
        const bios = part('BIOS');
        const coreLBA = bios.offset / sectorSize;
        const coreBytes = await readFile(core);
        if (coreBytes.length > bios.length)
          throw new FactoryError(
            'BUILD_FAILED',
            `${step}: GRUB core image (${coreBytes.length} bytes) exceeds BIOS`,
          );
        bytesWritten += await writeDataRuns(out, patchCoreImg(coreBytes, coreLBA), bios.offset);
        const mbr = patchBootImg(await readFile(grubBootImgPath(input.grubDirs ?? {})), coreLBA);
        await out.write(mbr, 0, mbr.length, 0);
      }
      const records: AdvRecord[] = (input.meta ?? []).map((m) => ({ tag: m.key, value: m.value }));
      const marker = bootloaderMetaValue(bootloader, input.arch, input.secureBoot, quirks);
      if (marker !== undefined) records.push({ tag: META_KEY.diskImageBootloader, value: marker });
      if (records.length > 0) {
        let adv: Buffer;
        try {
          adv = encodeTalosAdv(records);
        } catch (e) {
          throw new FactoryError('BAD_REQUEST', `META values: ${(e as Error).message}`, { cause: e });
        }
        bytesWritten += await writeDataRuns(out, adv, part('META').offset);
      }
    } finally {
      await out.close();
    }
    await rename(partial, input.output);
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  }
  return { path: input.output, diskBytes, bootloader, quirks, table, layout, bytesWritten };
}
