/**
 * What the final page offers for a (platform, arch, secure boot, version), as upstream's wizard
 * lists it: the platform's boot methods in the platform table's order (ISO, disk image with the
 * platform's default suffix — bare metal also as qcow2 —, PXE), a single-board computer's disk
 * image, the kernel / initramfs / command line and the UKI where the version has UKIs, and the
 * installer (image reference and `docker load` archive). Derived from the platform table, the
 * path grammar and the version quirks, never from version strings; every file is checked against
 * the path grammar. Whether this factory can deliver each one is decided later, by planning it
 * (`availability.ts`).
 */
import type { Arch, AssetKind } from '../../profile/build-request.js';
import { formatAssetPath, parseAssetPath } from '../../profile/path.js';
import type { PlatformSpec } from '../../profile/platforms.js';
import type { QuirkValues } from '../../profile/quirks.js';

/** One downloadable asset. */
export interface AssetOffer {
  readonly label: string;
  /** The `:path` of `/image/:schematic/:version/:path`. */
  readonly file: string;
  readonly kind: AssetKind;
}

/** A titled group of assets (one boot method). */
export interface AssetGroup {
  readonly title: string;
  readonly assets: readonly AssetOffer[];
}

/** Everything the final page links to, before URLs are attached. */
export interface Offer {
  readonly groups: readonly AssetGroup[];
  /**
   * `<platform>-<arch>[-secureboot]` for `/pxe/…`, when the platform boots over PXE, with the
   * asset files the script is made from and boots (it works only when they all do).
   */
  readonly pxe?: { readonly path: string; readonly uses: readonly string[] };
  /** The installer: repository name (`installer[-secureboot]`, `<platform>-installer[-secureboot]`) and its archive. */
  readonly installer: { readonly image: string; readonly asset?: AssetOffer };
}

/** What the offer depends on. */
export interface OfferInput {
  readonly platform: PlatformSpec;
  readonly arch: Arch;
  readonly secureBoot: boolean;
  /** Single-board computers get the metal arm64 disk image (the overlay does the rest). */
  readonly board: boolean;
  readonly quirks: QuirkValues;
}

/**
 * Disk formats the wizard lists besides the platform's default (upstream's template adds qcow2
 * for bare metal, for virtual machines; not for secure boot, where it shows the default only).
 */
const EXTRA_DISK_SUFFIXES: Readonly<Record<string, readonly string[]>> = { metal: ['qcow2'] };

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** Computes the offer. */
export function offerFor(input: OfferInput): Offer {
  const { platform, arch, quirks } = input;
  const sb = input.secureBoot ? '-secureboot' : '';
  const sbLabel = input.secureBoot ? 'Secure Boot ' : '';
  const pa = `${platform.name}-${arch}${sb}`;
  const asset = (label: string, file: string): AssetOffer | undefined => {
    try {
      return { label, file, kind: parseAssetPath(file).kind };
    } catch {
      return undefined; // a platform table entry the grammar does not accept offers nothing
    }
  };
  const group = (title: string, ...assets: (AssetOffer | undefined)[]): AssetGroup | undefined => {
    const list = assets.filter((a): a is AssetOffer => a !== undefined);
    return list.length > 0 ? { title, assets: list } : undefined;
  };
  const disk = (suffix: string) => asset(cap(`${sbLabel}disk image (${suffix})`), `${pa}.${suffix}`);

  const methods = input.board ? ['disk-image'] : platform.bootMethods;
  const diskSuffixes = input.board
    ? ['raw.xz']
    : platform.diskImageSuffix
      ? [platform.diskImageSuffix, ...(input.secureBoot ? [] : (EXTRA_DISK_SUFFIXES[platform.name] ?? []))]
      : [];
  const byMethod = (m: string): AssetGroup | undefined => {
    if (m === 'iso') return group(`${sbLabel}ISO`, asset(`${sbLabel}ISO image`, `${pa}.iso`));
    if (m === 'disk-image') return group(cap(`${sbLabel}disk image`), ...diskSuffixes.map(disk));
    return undefined; // PXE has its own section
  };
  const groups = [
    ...methods.map(byMethod),
    input.board
      ? undefined
      : group(
          'Kernel, initramfs, command line and UKI',
          asset('Kernel', `kernel-${arch}`),
          asset('Initramfs (with the system extensions)', `initramfs-${arch}.xz`),
          asset('Kernel command line', `cmdline-${pa}`),
          quirks.supportsUKI ? asset(`${sbLabel}UKI (unified kernel image)`, `${pa}-uki.efi`) : undefined,
        ),
  ].filter((g): g is AssetGroup => g !== undefined);

  // The PXE script boots kernel + initramfs, or the signed UKI, with the platform's cmdline.
  const pxe =
    methods.includes('pxe') && !input.board
      ? {
          path: pa,
          uses: input.secureBoot
            ? [`cmdline-${pa}`, `${pa}-uki.efi`]
            : [`cmdline-${pa}`, `kernel-${arch}`, `initramfs-${arch}.xz`],
        }
      : undefined;

  // Talos ≥ 1.10 has an installer per platform (boards use the metal one); before, one for all.
  const installerPlatform = quirks.supportsUnifiedInstaller && !input.board ? platform.name : 'metal';
  const image = quirks.supportsUnifiedInstaller ? `${installerPlatform}-installer${sb}` : `installer${sb}`;
  const archive = asset(
    cap(`${sbLabel}installer image archive (docker load)`),
    formatAssetPath({ kind: 'installer', platform: installerPlatform, arch, secureBoot: input.secureBoot }),
  );
  return { groups, ...(pxe ? { pxe } : {}), installer: { image, ...(archive ? { asset: archive } : {}) } };
}
