/**
 * What an `/image` path means, as plain types (image-factory §3.1): kind, arch, platform, secure
 * boot and the disk-image options. No logic here, so every module of `profile/` can depend on it.
 */

/** CPU architecture of the asset. */
export type Arch = 'amd64' | 'arm64';

/** Every architecture, in a stable order. */
export const ARCHES: readonly Arch[] = ['amd64', 'arm64'];

/** Output kind (Talos imager `OutKind*`). */
export type AssetKind = 'kernel' | 'cmdline' | 'initramfs' | 'iso' | 'uki' | 'installer' | 'image';

/** Every kind, in path-rule order. */
export const ASSET_KINDS: readonly AssetKind[] = [
  'kernel',
  'cmdline',
  'initramfs',
  'iso',
  'uki',
  'installer',
  'image',
];

/** Disk image container format (path suffix; `vhd` is qemu-img's `vpc`). */
export type DiskFormat = 'raw' | 'qcow2' | 'vhd' | 'ova';

/** Post-processing of a disk image (upstream calls `none` "raw"). */
export type Compression = 'none' | 'tar.gz' | 'gz' | 'xz' | 'zst';

/** Disk-image-only options. */
export interface ImageOptions {
  readonly diskFormat: DiskFormat;
  /** qemu-img `-o` options, e.g. `cluster_size=8k`; empty for none. */
  readonly formatOptions: string;
  readonly compression: Compression;
  /** Requested disk size before the builder's own adjustments (talos-imager §6.2). */
  readonly diskSizeMiB: number;
  /** A 1.5-era board path segment (`metal-rpi_generic-arm64.raw.xz`): the board's overlay. */
  readonly board?: string;
}

/**
 * The consumer an asset is built for, when it is built as part of another asset (internal: no
 * path sets it). A UKI inside an ISO carries the ISO's command line and reset profile.
 */
export type AssetPurpose = 'iso' | 'image' | 'installer';

interface AssetRequestBase {
  readonly arch: Arch;
  /** Platform name as written in the path (`packet` stays `packet`; see `normalizeBuildRequest`). */
  readonly platform: string;
  readonly secureBoot: boolean;
  readonly purpose?: AssetPurpose;
}

/** A non-disk-image asset. */
export interface PlainAssetRequest extends AssetRequestBase {
  readonly kind: Exclude<AssetKind, 'image'>;
}

/** A disk image asset. */
export interface ImageAssetRequest extends AssetRequestBase {
  readonly kind: 'image';
  readonly image: ImageOptions;
}

/** What one `/image/:schematic/:version/:path` path asks for. */
export type AssetRequest = PlainAssetRequest | ImageAssetRequest;
