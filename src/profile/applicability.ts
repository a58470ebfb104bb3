/**
 * Which schematic fields apply to which output kind (image-factory §3.4, HEAD
 * `EnhanceFromSchematic`), as data. Fields that do not apply are silently ignored for that kind,
 * exactly as upstream does (e.g. a `cmdline-…` asset never carries overlay args).
 */
import type { AssetKind } from './asset-request.js';
import type { BooleanQuirk, QuirkValues } from './quirks.js';

/** Schematic fields whose use depends on the output kind. */
export type SchematicField =
  | 'extraKernelArgs'
  | 'meta'
  | 'extensions'
  | 'overlay'
  | 'embeddedMachineConfiguration'
  | 'bootloader'
  | 'diskImageSectorSize'
  | 'secureBootAssets'
  | 'secureBootEnrollKeys';

/**
 * `always`/`never`; `secureBoot` = only for `-secureboot` requests; `secureBootOrUnifiedInstaller`
 * = when secure boot is requested or the target has the unified installer (Talos ≥ 1.10), because
 * then the args are embedded in a UKI.
 */
export type Applicability = 'always' | 'never' | 'secureBoot' | 'secureBootOrUnifiedInstaller';

/** THE table: field → kind → applicability. */
export const FIELD_APPLICABILITY: {
  readonly [F in SchematicField]: { readonly [K in AssetKind]: Applicability };
} = {
  // A UKI embeds its cmdline, so the args always apply. Upstream's "if SB or Talos ≥ 1.10" for
  // `uki` is the same rule on every UKI it can build (it has no unsigned UKI before 1.10); ours
  // are built for every version, and an unsigned v1.5 UKI without the args lost them silently.
  extraKernelArgs: {
    kernel: 'never',
    cmdline: 'always',
    initramfs: 'never',
    iso: 'always',
    image: 'always',
    uki: 'always',
    installer: 'secureBootOrUnifiedInstaller',
  },
  // For `image` META goes into the META partition, not the cmdline (see `metaOnCmdline`).
  meta: {
    kernel: 'never',
    cmdline: 'always',
    initramfs: 'never',
    iso: 'always',
    image: 'always',
    uki: 'never',
    installer: 'never',
  },
  // Official extensions plus the virtual schematic extension (always appended, last input).
  extensions: {
    kernel: 'never',
    cmdline: 'never',
    initramfs: 'always',
    iso: 'always',
    image: 'always',
    uki: 'always',
    installer: 'always',
  },
  overlay: {
    kernel: 'never',
    cmdline: 'never',
    initramfs: 'always',
    iso: 'always',
    image: 'always',
    uki: 'always',
    installer: 'always',
  },
  embeddedMachineConfiguration: {
    kernel: 'never',
    cmdline: 'never',
    initramfs: 'always',
    iso: 'always',
    image: 'always',
    uki: 'always',
    installer: 'always',
  },
  bootloader: {
    kernel: 'never',
    cmdline: 'never',
    initramfs: 'never',
    iso: 'always',
    image: 'always',
    uki: 'never',
    installer: 'never',
  },
  diskImageSectorSize: {
    kernel: 'never',
    cmdline: 'never',
    initramfs: 'never',
    iso: 'never',
    image: 'always',
    uki: 'never',
    installer: 'never',
  },
  // Signing keys / well-known certs: whenever `-secureboot` is requested.
  secureBootAssets: {
    kernel: 'secureBoot',
    cmdline: 'secureBoot',
    initramfs: 'secureBoot',
    iso: 'secureBoot',
    image: 'secureBoot',
    uki: 'secureBoot',
    installer: 'secureBoot',
  },
  // `enrollKeys` only reaches an ESP `loader.conf`, i.e. ISO and disk image.
  secureBootEnrollKeys: {
    kernel: 'never',
    cmdline: 'never',
    initramfs: 'never',
    iso: 'secureBoot',
    image: 'secureBoot',
    uki: 'never',
    installer: 'never',
  },
};

/** A version requirement of a schematic field. */
export interface FieldRequirement {
  /** Quirk that must be on. */
  readonly quirk: BooleanQuirk;
  /** `applicable`: checked only for kinds where the field applies; `any`: for every kind. */
  readonly scope: 'applicable' | 'any';
}

/**
 * Fields that, when set, require a minimum Talos version: upstream rejects the request with 400
 * ("… is not supported for Talos version vX") instead of ignoring the field. The overlay check
 * runs for every kind (even `kernel`), the embedded-config check only where it applies.
 */
export const FIELD_VERSION_REQUIREMENTS: { readonly [F in SchematicField]?: FieldRequirement } = {
  embeddedMachineConfiguration: { quirk: 'supportsEmbeddedConfig', scope: 'applicable' },
  overlay: { quirk: 'supportsOverlay', scope: 'any' },
};

/** True when `field` of the schematic is used for an asset of `kind`. */
export function fieldApplies(
  field: SchematicField,
  kind: AssetKind,
  ctx: { readonly secureBoot: boolean; readonly quirks: QuirkValues },
): boolean {
  switch (FIELD_APPLICABILITY[field][kind]) {
    case 'always':
      return true;
    case 'never':
      return false;
    case 'secureBoot':
      return ctx.secureBoot;
    case 'secureBootOrUnifiedInstaller':
      return ctx.secureBoot || ctx.quirks.supportsUnifiedInstaller;
  }
}

/** True when META values travel on the kernel cmdline (imager step 7: every kind but disk images). */
export function metaOnCmdline(
  kind: AssetKind,
  ctx: { readonly secureBoot: boolean; readonly quirks: QuirkValues },
): boolean {
  return kind !== 'image' && fieldApplies('meta', kind, ctx);
}
