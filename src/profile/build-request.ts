/**
 * The typed request nouns: `AssetRequest` is what an `/image` path means (image-factory §3.1);
 * `BuildRequest` adds the schematic and Talos version — everything that selects an asset, nothing
 * about HTTP. `normalizeBuildRequest` gives the one canonical JSON text used for cache keys.
 */
import type { SchematicId } from '../schematic/types.js';
import type { AssetRequest } from './asset-request.js';
import { findPlatform } from './platforms.js';
import { parseTalosVersion } from './version.js';

export type {
  Arch,
  AssetKind,
  AssetRequest,
  Compression,
  DiskFormat,
  ImageAssetRequest,
  ImageOptions,
  PlainAssetRequest,
} from './asset-request.js';
export { ARCHES, ASSET_KINDS } from './asset-request.js';

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
    const { diskFormat, formatOptions, compression, diskSizeMiB, board } = req.image;
    return {
      ...base,
      kind: 'image',
      image: { diskFormat, formatOptions, compression, diskSizeMiB, ...(board ? { board } : {}) },
    };
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
