/**
 * The systemd-boot tree of UEFI ISOs (talos-imager §4.3), copied both into the ISO 9660 tree and
 * into the ESP image the firmware boots: `EFI/BOOT/BOOTX64.EFI` (or `BOOTAA64.EFI`, systemd-boot),
 * `EFI/Linux/Talos-<version>.efi` (the UKI), `loader/loader.conf` (`secure-boot-enroll <mode>`),
 * `loader/random-seed` (32 zero bytes, read-only in the ESP: systemd-boot ≥ 261 tries to write it),
 * and for Secure Boot `EFI/keys/uki-signing-cert.der` and `loader/keys/auto/{PK,KEK,db}.auth`.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Arch } from '../../profile/asset-request.js';
import { renderLoaderConf, type SecureBootEnrollMode } from '../disk/esp.js';
import { FAT_EPOCH_MIN } from '../disk/filesystems.js';
import { stageTree, topLevelNames, type FileTree } from '../disk/tree.js';
import { espFatBits, fat32ClusterSectors, isoEspImageBytes } from '../formats/fat32-geometry.js';
import { runTool } from '../tools/run.js';
import { mcopyTree, mkfsVfat, mtoolsEnv } from '../tools/mkfs-vfat.js';

/** What the UEFI part of an ISO holds. */
export interface UefiIsoParts {
  readonly arch: Arch;
  readonly version: string;
  /** The UKI (signed for Secure Boot). */
  readonly uki: { readonly path: string; readonly size: number };
  /** systemd-boot (signed for Secure Boot). */
  readonly sdBoot: { readonly path: string; readonly size: number };
  readonly enrollMode: SecureBootEnrollMode;
  /** Secure Boot only: the signing certificate (DER) and the auto-enrollment variables. */
  readonly secureBoot?: {
    readonly certificateDer: Buffer;
    readonly auth: { readonly PK: Buffer; readonly KEK: Buffer; readonly db: Buffer };
  };
}

/** The UEFI tree of an ISO. */
export function uefiIsoTree(p: UefiIsoParts): FileTree {
  const boot = p.arch === 'amd64' ? 'BOOTX64.EFI' : 'BOOTAA64.EFI';
  const tree: FileTree[number][] = [
    { path: `EFI/BOOT/${boot}`, source: { path: p.sdBoot.path } },
    { path: `EFI/Linux/Talos-${p.version}.efi`, source: { path: p.uki.path } },
    { path: 'loader/loader.conf', source: { data: renderLoaderConf(p.enrollMode) } },
    { path: 'loader/random-seed', source: { data: Buffer.alloc(32) } },
  ];
  if (p.secureBoot) {
    tree.push(
      { path: 'EFI/keys/uki-signing-cert.der', source: { data: p.secureBoot.certificateDer } },
      { path: 'loader/keys/auto/PK.auth', source: { data: p.secureBoot.auth.PK } },
      { path: 'loader/keys/auto/KEK.auth', source: { data: p.secureBoot.auth.KEK } },
      { path: 'loader/keys/auto/db.auth', source: { data: p.secureBoot.auth.db } },
    );
  }
  return tree;
}

/**
 * Stages the UEFI tree into `isoDir` and builds `efiboot.img` beside it (FAT, label `EFI`,
 * 10 MiB + systemd-boot + UKI each rounded up to MiB; FAT32 with the imager's cluster rule where
 * the size allows a valid FAT32, else FAT16). Returns the ESP image path.
 */
export async function stageUefiIso(o: {
  readonly parts: UefiIsoParts;
  readonly isoDir: string;
  readonly workDir: string;
  readonly epoch: number;
  readonly signal?: AbortSignal;
}): Promise<string> {
  const tree = uefiIsoTree(o.parts);
  await mkdir(o.isoDir, { recursive: true });
  // Staged once: the ISO 9660 tree is also what mcopy copies into the ESP image.
  await stageTree(o.isoDir, tree, Math.max(o.epoch, FAT_EPOCH_MIN), 'iso: UEFI tree');
  const image = join(o.workDir, 'efiboot.img');
  const sizeBytes = isoEspImageBytes(o.parts.sdBoot.size, o.parts.uki.size);
  const signal = o.signal ? { signal: o.signal } : {};
  const fatBits = espFatBits(sizeBytes, 512);
  await mkfsVfat({
    image,
    sizeBytes,
    label: 'EFI',
    fatBits,
    sectorSize: 512,
    ...(fatBits === 32 ? { clusterSectors: fat32ClusterSectors(sizeBytes, 512) } : {}),
    step: 'iso: EFI file system',
    ...signal,
  });
  await mcopyTree({ image, dir: o.isoDir, names: topLevelNames(tree), step: 'iso: EFI files', ...signal });
  await runTool('mattrib', ['-i', image, '+r', '::/loader/random-seed'], {
    step: 'iso: EFI random-seed read-only',
    env: mtoolsEnv(),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return image;
}
