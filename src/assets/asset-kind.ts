/**
 * The shape every asset kind has: a module that says what goes into its cache key, which other
 * assets it is made from, and how it builds. The AssetService only resolves and caches; a new kind
 * is one file in `kinds/` plus one line in `kinds/index.ts`.
 */
import type { AppendixCompression } from '../builders/initramfs/compression.js';
import type { IntermediateStore } from '../builders/initramfs/intermediates.js';
import type { CachedAsset } from '../cache/asset-cache.js';
import type { AssetKind, AssetRequest } from '../profile/asset-request.js';
import type { Quirks } from '../profile/quirks.js';
import type { TalosVersion } from '../profile/version.js';
import type { ReleaseInputs, ReleaseSource } from '../release/release-source.js';
import type { GrubDirs } from '../builders/disk/grub-images.js';
import type { SecureBootMaterial } from '../secureboot/material.js';
import type { LoadedSchematic } from '../storage/schematic-service.js';

/** How the virtual schematic extension is stamped. */
export interface SchematicExtensionConfig {
  naming: 'schematic' | 'flavor';
  externalURL: string;
}

/** Factory-wide settings the kinds read (from configuration, fixed for the process). */
export interface AssetSettings {
  readonly schematicExtension: SchematicExtensionConfig;
  /** Caps on one unpacked extension image. */
  readonly extensionLimits?: { maxBytes: number; maxEntries: number };
  /** Extensions one build may include (`build.maxExtensions`; default 64). */
  readonly maxExtensions?: number;
  /** Signing material; absent when Secure Boot is not configured (`-secureboot` → 400). */
  readonly secureBoot?: SecureBootMaterial;
  /** GRUB module directories (Debian's by default; arm64-efi must be configured on amd64 hosts). */
  readonly grubDirs?: GrubDirs;
  /** Where build intermediates (extension bundles, modules.dep layers, …) are kept across builds. */
  readonly intermediates?: IntermediateStore;
  /** Initramfs appendix compression levels (default: the measured ones). */
  readonly initramfsCompression?: AppendixCompression;
}

/** What a kind's planner sees: one request of one schematic for one Talos version. */
export interface PlanContext {
  readonly schematic: LoadedSchematic;
  /** Normalised version tag, `vX.Y.Z[-pre][+build]`. */
  readonly version: string;
  readonly talos: TalosVersion;
  readonly quirks: Quirks;
  readonly request: AssetRequest;
  readonly release: ReleaseSource;
  readonly settings: AssetSettings;
  /** The waiting client's signal: planning I/O (manifests, catalogs) stops when it leaves. */
  readonly signal: AbortSignal | undefined;
  /** The imager manifest digest pinning this version's boot inputs (manifest requests only). */
  imagerDigest(): Promise<string>;
}

/** What a build sees: its scratch dir, its deadline, the finished assets it depends on. */
export interface BuildContext {
  readonly workDir: string;
  readonly signal: AbortSignal;
  /** The assets named in {@link AssetPlan.deps}, built (or found in the cache) before this build. */
  readonly deps: Readonly<Record<string, CachedAsset>>;
  /** The verified release files of the pinned imager for the request's arch. */
  inputs(): Promise<ReleaseInputs>;
}

/** A planned asset: its key material, its dependencies and its build. */
export interface AssetPlan {
  /** Everything besides the kind's salt and the dependencies' keys that determines the bytes. */
  readonly key: Readonly<Record<string, unknown>>;
  /** Other assets this one is made from (by name), resolved through the same cache. */
  readonly deps?: Readonly<Record<string, AssetRequest>>;
  /** A copy or a few bytes of text: skips the build queue (must not wait behind long builds). */
  readonly light?: boolean;
  /** Produces the asset file inside `ctx.workDir` and returns its path. */
  build(ctx: BuildContext): Promise<string>;
}

/** One asset kind. */
export interface AssetKindModule {
  readonly kind: AssetKind;
  /**
   * Builder version ("errata salt"), part of every key of this kind: bump it when a fix changes
   * the output, and exactly this kind's entries (and those of kinds built from it) become misses.
   */
  readonly salt: string;
  /** Validates the request against the schematic and release (4xx) and plans the build. */
  plan(ctx: PlanContext): Promise<AssetPlan>;
}
