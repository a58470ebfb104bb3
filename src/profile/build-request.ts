/**
 * The typed request nouns: `AssetRequest` is what an `/image` path means (image-factory §3.1);
 * `BuildRequest` adds the schematic and Talos version — everything that selects an asset, nothing
 * about HTTP. `normalizeBuildRequest` gives the one canonical JSON text used for cache keys.
 */
import type { SchematicId } from '../schematic/types.js';
import { findPlatform } from './platforms.js';
import { parseTalosVersion } from './version.js';

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
}

interface AssetRequestBase {
  readonly arch: Arch;
  /** Platform name as written in the path (`packet` stays `packet`; see `normalizeBuildRequest`). */
  readonly platform: string;
  readonly secureBoot: boolean;
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

/** The asset request plus what selects the inputs: schematic and Talos version. */
export type BuildRequest = AssetRequest & {
  readonly schematicId: SchematicId;
  /** Normalised version tag, `vX.Y.Z[-pre][+build]`. */
  readonly version: string;
};

/** Returns the canonical form of a build request: alias platforms resolved, version normalised. */
export function canonicalBuildRequest(req: BuildRequest): BuildRequest {
  // `packet` and `equinixMetal` produce identical bytes (the cmdline always says equinixMetal),
  // so they share one cache entry.
  const platform = findPlatform(req.platform)?.talosName ?? req.platform;
  const version = parseTalosVersion(req.version).tag;
  const base = {
    schematicId: req.schematicId,
    version,
    arch: req.arch,
    platform,
    secureBoot: req.secureBoot,
  };
  if (req.kind === 'image') {
    const { diskFormat, formatOptions, compression, diskSizeMiB } = req.image;
    return { ...base, kind: 'image', image: { diskFormat, formatOptions, compression, diskSizeMiB } };
  }
  return { ...base, kind: req.kind };
}

function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Canonical JSON (sorted keys, no whitespace) of the canonical request: equal text ⇔ same asset. */
export function normalizeBuildRequest(req: BuildRequest): string {
  return sortedJson(canonicalBuildRequest(req));
}
