/**
 * The lookup every asset frontend performs, in upstream's order so the same error wins (spec
 * §1.3.2): schematic → version syntax → path → version availability → build or cache.
 */
import type { CachedAsset } from '../cache/asset-cache.js';
import { FactoryError } from '../errors.js';
import type { AssetRequest } from '../profile/build-request.js';
import { parseTalosVersion } from '../profile/version.js';
import type { ReleaseSource } from '../release/release-source.js';
import type { LoadedSchematic, SchematicService } from '../storage/schematic-service.js';
import type { SecureBootMaterial } from '../secureboot/material.js';
import type { AssetService, PlannedAsset } from './asset-service.js';
import { refuseSecureBootWithoutKeys } from './secure-boot.js';

/** What an asset lookup needs. */
export interface LookupDeps {
  schematics: SchematicService;
  release: ReleaseSource;
  assets: AssetService;
  /** Secure Boot signing; undefined = not configured (Secure Boot requests are a 400). */
  secureBoot?: SecureBootMaterial | undefined;
}

/** Extra checks a frontend asks for. */
export interface LookupOptions {
  /** Refuse with 404 when the release has no build for the request's arch (PXE scripts). */
  requireArch?: boolean;
}

/** A found (or freshly built) asset and what it was resolved from. */
export interface LookupResult {
  asset: CachedAsset;
  schematic: LoadedSchematic;
  versionTag: string;
  request: AssetRequest;
}

/** A planned (not yet built) asset and what it was resolved from. */
export interface PlanResult {
  planned: PlannedAsset;
  schematic: LoadedSchematic;
  versionTag: string;
  request: AssetRequest;
}

/** Resolves (schematic ID, version text, parsed path) to a plan — every check, no build. */
export async function planAssetLookup(
  deps: LookupDeps,
  schematicId: string,
  version: string,
  parse: () => AssetRequest,
  signal?: AbortSignal,
  options: LookupOptions = {},
): Promise<PlanResult> {
  const schematic = await deps.schematics.load(schematicId);
  const versionTag = parseTalosVersion(version).tag;
  const request = parse();
  await deps.release.requireVersion(versionTag);
  refuseSecureBootWithoutKeys(deps.secureBoot, request);
  if (options.requireArch && !(await deps.release.hasArch(versionTag, request.arch, signal))) {
    throw new FactoryError(
      'NOT_FOUND',
      `Talos ${versionTag} has no ${request.arch} build: nothing to boot for ${request.arch}`,
    );
  }
  const planned = await deps.assets.plan(schematic, versionTag, request, signal);
  return { planned, schematic, versionTag, request };
}

/** Resolves (schematic ID, version text, parsed path) to an asset; `parse` maps the path text. */
export async function lookupAsset(
  deps: LookupDeps,
  schematicId: string,
  version: string,
  parse: () => AssetRequest,
  signal?: AbortSignal,
  options: LookupOptions = {},
): Promise<LookupResult> {
  const { planned, schematic, versionTag, request } = await planAssetLookup(
    deps,
    schematicId,
    version,
    parse,
    signal,
    options,
  );
  const asset = await deps.assets.realize(planned, signal);
  return { asset, schematic, versionTag, request };
}
