/**
 * Installer image names of the registry frontend (image-factory §5.1): `installer` (metal),
 * `installer-secureboot`, `<platform>-installer`, `<platform>-installer-secureboot`; plus the
 * installer's boot-file layout per version (talos-imager §7.2), which both the installer asset and
 * its registry image follow.
 */
import { FactoryError } from '../errors.js';
import type { Arch } from './asset-request.js';
import { findPlatform } from './platforms.js';
import type { QuirkValues } from './quirks.js';

/** What an installer image name selects. */
export interface InstallerImage {
  /** The name as requested (`metal-installer` stays `metal-installer`). */
  readonly name: string;
  readonly platform: string;
  readonly secureBoot: boolean;
}

/** Parses an installer image name; anything else is `400 invalid image: <name>` (upstream's text). */
export function parseInstallerImage(name: string): InstallerImage {
  const sb = name.endsWith('-secureboot');
  const stem = sb ? name.slice(0, -'-secureboot'.length) : name;
  let platform: string | undefined;
  if (stem === 'installer') platform = 'metal';
  else if (stem.endsWith('-installer')) platform = stem.slice(0, -'-installer'.length);
  if (platform === undefined || platform === '' || findPlatform(platform) === undefined) {
    throw new FactoryError('NAME_INVALID', `invalid image: ${name}`);
  }
  return { name, platform, secureBoot: sb };
}

/** The canonical image name for a platform (`metal` → `installer`). */
export function installerImageName(platform: string, secureBoot: boolean): string {
  const talos = findPlatform(platform)?.talosName ?? platform;
  return `${talos === 'metal' ? 'installer' : `${talos}-installer`}${secureBoot ? '-secureboot' : ''}`;
}

/** The boot files of an installer: UKI era (sd-boot + UKI) or kernel + initramfs. */
export type InstallerArtifacts =
  | { readonly era: 'uki'; readonly uki: string; readonly systemdBoot: string }
  | { readonly era: 'kernel'; readonly kernel: string; readonly initramfs: string };

/**
 * Paths of the artifacts layer (no leading slash, as since Talos 1.5.3): Talos ≥ 1.10 or secure
 * boot → `vmlinuz.efi` (`vmlinuz.efi.signed` for secure boot before 1.10) + `systemd-boot.efi`;
 * otherwise `vmlinuz` + `initramfs.xz`.
 */
export function installerArtifacts(
  arch: Arch,
  secureBoot: boolean,
  quirks: Pick<QuirkValues, 'supportsUnifiedInstaller'>,
): InstallerArtifacts {
  const dir = `usr/install/${arch}`;
  if (quirks.supportsUnifiedInstaller || secureBoot) {
    const signedName = secureBoot && !quirks.supportsUnifiedInstaller;
    return {
      era: 'uki',
      uki: `${dir}/${signedName ? 'vmlinuz.efi.signed' : 'vmlinuz.efi'}`,
      systemdBoot: `${dir}/systemd-boot.efi`,
    };
  }
  return { era: 'kernel', kernel: `${dir}/vmlinuz`, initramfs: `${dir}/initramfs.xz` };
}
