/**
 * What the final page offers for a (platform, arch, secure boot, version): asset files grouped by
 * boot method, the PXE path and the installer image name — derived from the platform table, the
 * path grammar and the version quirks, never from version strings. Every file is checked against
 * the path grammar, and its kind against the kinds this factory builds today, so an asset whose
 * builder has not landed is shown as unavailable instead of as a dead link.
 */
import type { Arch, AssetKind } from '../../profile/build-request.js';
import { parseAssetPath } from '../../profile/path.js';
import type { PlatformSpec } from '../../profile/platforms.js';
import type { QuirkValues } from '../../profile/quirks.js';

/** One downloadable asset. */
export interface AssetOffer {
  readonly label: string;
  /** The `:path` of `/image/:schematic/:version/:path`. */
  readonly file: string;
  readonly kind: AssetKind;
  /** False while the kind's builder is missing (the route answers 501). */
  readonly available: boolean;
}

/** A titled group of assets (one boot method). */
export interface AssetGroup {
  readonly title: string;
  readonly assets: readonly AssetOffer[];
}

/** Everything the final page links to, before URLs are attached. */
export interface Offer {
  readonly groups: readonly AssetGroup[];
  /** `<platform>-<arch>[-secureboot]` for `/pxe/…`, when the platform boots over PXE. */
  readonly pxe?: { readonly path: string; readonly available: boolean };
  /** Installer repository name: `installer[-secureboot]` or `<platform>-installer[-secureboot]`. */
  readonly installerImage: string;
}

/** What the offer depends on. */
export interface OfferInput {
  readonly platform: PlatformSpec;
  readonly arch: Arch;
  readonly secureBoot: boolean;
  /** Single-board computers get the metal arm64 disk image (the overlay does the rest). */
  readonly board: boolean;
  readonly quirks: QuirkValues;
  readonly supports: (kind: AssetKind) => boolean;
}

/** Computes the offer. */
export function offerFor(input: OfferInput): Offer {
  const { platform, arch, quirks, supports } = input;
  const sb = input.secureBoot ? '-secureboot' : '';
  const pa = `${platform.name}-${arch}${sb}`;
  const asset = (label: string, file: string): AssetOffer | undefined => {
    try {
      const kind = parseAssetPath(file).kind;
      return { label, file, kind, available: supports(kind) };
    } catch {
      return undefined; // a platform table entry the grammar does not accept offers nothing
    }
  };
  const group = (title: string, ...assets: (AssetOffer | undefined)[]): AssetGroup | undefined => {
    const list = assets.filter((a): a is AssetOffer => a !== undefined);
    return list.length > 0 ? { title, assets: list } : undefined;
  };
  const methods = new Set(input.board ? ['disk-image'] : platform.bootMethods);
  const diskSuffix = input.board ? 'raw.xz' : platform.diskImageSuffix;

  const groups = [
    methods.has('iso') ? group('ISO', asset('ISO image', `${pa}.iso`)) : undefined,
    methods.has('disk-image') && diskSuffix
      ? group('Disk image', asset(`Disk image (${diskSuffix})`, `${pa}.${diskSuffix}`))
      : undefined,
    input.secureBoot || quirks.useSDBootForUEFI
      ? group('Unified kernel image', asset('UKI (EFI)', `${pa}-uki.efi`))
      : undefined,
    group(
      'Kernel, initramfs and kernel command line',
      asset('Kernel', `kernel-${arch}`),
      asset('Initramfs (with the system extensions)', `initramfs-${arch}.xz`),
      asset('Kernel command line', `cmdline-${pa}`),
    ),
  ].filter((g): g is AssetGroup => g !== undefined);

  // The PXE script boots kernel + initramfs, or the signed UKI: it is only as available as they are.
  const pxeNeeds: AssetKind[] = input.secureBoot ? ['uki', 'cmdline'] : ['kernel', 'initramfs', 'cmdline'];
  const pxe =
    methods.has('pxe') && !input.board ? { path: pa, available: pxeNeeds.every(supports) } : undefined;

  const repo = quirks.supportsUnifiedInstaller
    ? `${input.board ? 'metal' : platform.name}-installer`
    : 'installer';
  return { groups, ...(pxe ? { pxe } : {}), installerImage: `${repo}${sb}` };
}
