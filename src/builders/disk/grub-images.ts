/**
 * GRUB images for disk images, as Talos ≥ 1.13 makes them without grub-install (talos-imager
 * §6.2 step 3, errata §5): one module list, prefix `(hd0,gpt3)/grub` (BOOT is partition 3 in the
 * GRUB and dual-boot layouts), the i386-pc core image with `biosdisk part_msdos` added, the EFI
 * image xz-compressed. The modules are all embedded, so BOOT needs no `grub/<platform>/` dir.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { FactoryError } from '../../errors.js';
import type { Arch } from '../../profile/build-request.js';
import { type GrubFormat, grubMkimage } from '../tools/grub-mkimage.js';

/** Modules embedded in every GRUB image. */
export const GRUB_MODULES: readonly string[] = [
  'part_gpt',
  'ext2',
  'fat',
  'xfs',
  'normal',
  'configfile',
  'linux',
  'boot',
  'search',
  'search_fs_uuid',
  'search_fs_file',
  'ls',
  'cat',
  'echo',
  'test',
  'help',
  'reboot',
  'halt',
  'all_video',
];

/** Extra modules of the BIOS core image. */
export const GRUB_BIOS_MODULES: readonly string[] = ['biosdisk', 'part_msdos'];

/** Where GRUB finds grub.cfg: partition 3 = BOOT. */
export const GRUB_PREFIX = '(hd0,gpt3)/grub';

/** GRUB module directories (Debian paths by default; arm64-efi has no Debian amd64 package). */
export interface GrubDirs {
  i386Pc?: string;
  x8664Efi?: string;
  /** e.g. from `apt-get download grub-efi-arm64-bin:arm64` + `dpkg -x`. */
  arm64Efi?: string;
}

const DEFAULT_DIR = (format: GrubFormat): string => path.join('/usr/lib/grub', format);

/** The module directory for a format. */
export function grubDir(format: GrubFormat, dirs: GrubDirs = {}): string {
  const given = format === 'i386-pc' ? dirs.i386Pc : format === 'x86_64-efi' ? dirs.x8664Efi : dirs.arm64Efi;
  return given ?? DEFAULT_DIR(format);
}

/**
 * The module directory for a format, checked: a missing one (arm64-efi on an amd64 Debian host)
 * is a clear 501 naming the config key and the package, not a tool failure deep in a build.
 */
export async function requireGrubDir(format: GrubFormat, dirs: GrubDirs = {}): Promise<string> {
  const dir = grubDir(format, dirs);
  try {
    await access(path.join(dir, 'moddep.lst'));
  } catch {
    const key = format === 'i386-pc' ? 'i386Pc' : format === 'x86_64-efi' ? 'x8664Efi' : 'arm64Efi';
    const pkg =
      format === 'i386-pc'
        ? 'grub-pc-bin'
        : format === 'x86_64-efi'
          ? 'grub-efi-amd64-bin'
          : 'grub-efi-arm64-bin:arm64';
    throw new FactoryError(
      'NOT_IMPLEMENTED',
      `GRUB for ${format} is not installed on this factory (Debian package ${pkg}; config key "build.grubDirs.${key}")`,
    );
  }
  return dir;
}

/** Builds the BIOS core image at `output`. */
export async function buildGrubCoreImage(
  output: string,
  dirs: GrubDirs,
  step: string,
  signal?: AbortSignal,
): Promise<void> {
  await grubMkimage({
    format: 'i386-pc',
    output,
    prefix: GRUB_PREFIX,
    modules: [...GRUB_MODULES, ...GRUB_BIOS_MODULES],
    moduleDir: grubDir('i386-pc', dirs),
    step,
    signal,
  });
}

/** Builds the EFI GRUB image for `arch` at `output`. */
export async function buildGrubEfiImage(
  output: string,
  arch: Arch,
  dirs: GrubDirs,
  step: string,
  signal?: AbortSignal,
): Promise<void> {
  const format: GrubFormat = arch === 'amd64' ? 'x86_64-efi' : 'arm64-efi';
  await grubMkimage({
    format,
    output,
    prefix: GRUB_PREFIX,
    modules: GRUB_MODULES,
    compression: 'xz',
    moduleDir: grubDir(format, dirs),
    step,
    signal,
  });
}

/** GRUB's MBR boot sector template. */
export function grubBootImgPath(dirs: GrubDirs): string {
  return path.join(grubDir('i386-pc', dirs), 'boot.img');
}
