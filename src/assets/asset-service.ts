/**
 * Asset use case shared by every frontend: (schematic, version, asset request) → a cached asset.
 * The service validates what every kind shares (field/version requirements), asks the kind's
 * module for its plan, computes the cache key from the plan and its dependencies' keys, then
 * realises it: dependencies first (each through the same cache and single-flight, outside this
 * build's slot, so a parent never holds a slot while waiting for a child), then the build itself.
 */
import { createHash } from 'node:crypto';
import type { CachedAsset } from '../cache/asset-cache.js';
import { FactoryError } from '../errors.js';
import { FIELD_VERSION_REQUIREMENTS, fieldApplies } from '../profile/applicability.js';
import type { AssetKind, AssetRequest } from '../profile/asset-request.js';
import { deriveQuirks, type Quirks } from '../profile/quirks.js';
import { parseTalosVersion } from '../profile/version.js';
import type { ReleaseSource } from '../release/release-source.js';
import type { LoadedSchematic } from '../storage/schematic-service.js';
import type { AssetKindModule, AssetPlan, AssetSettings, PlanContext } from './asset-kind.js';
import { raceAbort, type BuildRunner, type BuildStatus } from './build-runner.js';
import { ASSET_KIND_MODULES } from './kinds/index.js';

export type { SchematicExtensionConfig } from './asset-kind.js';

/** Dependencies of {@link AssetService}. */
export interface AssetServiceDeps extends AssetSettings {
  release: ReleaseSource;
  runner: BuildRunner;
  /** The kind registry (tests may pass their own); default {@link ASSET_KIND_MODULES}. */
  kinds?: Partial<Readonly<Record<AssetKind, AssetKindModule>>>;
}

/** An asset whose key is known; building it is the next step. */
export interface PlannedAsset {
  readonly key: string;
  readonly request: AssetRequest;
  readonly plan: AssetPlan;
  readonly deps: Readonly<Record<string, PlannedAsset>>;
  readonly schematic: LoadedSchematic;
  /** Normalised version tag. */
  readonly version: string;
  /** The pinned imager digest, detached from any client (builds outlive their requesters). */
  readonly pinned: () => Promise<string>;
}

/** Where an asset stands: cached, in the runner (its own build or one it waits for), or idle. */
export type AssetStatus =
  | { readonly state: 'ready'; readonly size: number; readonly sha256: string }
  | { readonly state: 'idle' }
  | (BuildStatus & { readonly kind: string | undefined; readonly dependency?: string });

const REQUIREMENT_MESSAGES: Record<string, string> = {
  overlay: 'overlay is not supported for Talos version',
  embeddedMachineConfiguration: 'embedding configuration is not supported for Talos version',
};

/** Builds or fetches assets. */
export class AssetService {
  readonly #d: AssetServiceDeps;
  readonly #kinds: Partial<Readonly<Record<AssetKind, AssetKindModule>>>;
  /** Keys being realised (counted): between a request and the runner taking the build over. */
  readonly #pending = new Map<string, number>();

  constructor(deps: AssetServiceDeps) {
    this.#d = deps;
    this.#kinds = deps.kinds ?? ASSET_KIND_MODULES;
  }

  /** The kinds that have a builder (the others answer 501). */
  implementedKinds(): ReadonlySet<AssetKind> {
    return new Set(Object.keys(this.#kinds) as AssetKind[]);
  }

  /** Checks the schematic fields that need a minimum Talos version (upstream answers 400). */
  #checkRequirements(loaded: LoadedSchematic, req: AssetRequest, version: string, quirks: Quirks): void {
    const s = loaded.schematic;
    const present: Record<string, boolean> = {
      overlay: s.overlay !== undefined,
      embeddedMachineConfiguration: (s.customization.embeddedMachineConfiguration ?? '') !== '',
    };
    for (const [field, requirement] of Object.entries(FIELD_VERSION_REQUIREMENTS)) {
      if (!requirement || !present[field]) continue;
      const applies =
        requirement.scope === 'any' ||
        fieldApplies(field as 'overlay', req.kind, { secureBoot: req.secureBoot, quirks });
      if (applies && !quirks[requirement.quirk]) {
        throw new FactoryError(
          'PROFILE_INVALID',
          `error enhancing profile from schematic: ${REQUIREMENT_MESSAGES[field]} ${version}`,
        );
      }
    }
  }

  /**
   * Plans `req` and, recursively, the assets it is made from: validation errors (4xx) and the
   * cache key, without building anything. Costs catalog and manifest requests at most.
   */
  async plan(
    loaded: LoadedSchematic,
    version: string,
    req: AssetRequest,
    signal?: AbortSignal,
    inherited?: () => Promise<string>,
  ): Promise<PlannedAsset> {
    const module = this.#kinds[req.kind];
    if (!module) {
      throw new FactoryError('NOT_IMPLEMENTED', `assets of kind "${req.kind}" are not implemented yet`);
    }
    const talos = parseTalosVersion(version);
    const quirks = deriveQuirks(talos);
    this.#checkRequirements(loaded, req, version, quirks);
    // Detached from any one client (shared by every request for the version); each waiter may leave.
    let pin: Promise<string> | undefined;
    const pinned = inherited ?? (() => (pin ??= this.#d.release.pin(version)));
    const ctx: PlanContext = {
      schematic: loaded,
      version,
      talos,
      quirks,
      request: req,
      release: this.#d.release,
      settings: this.#d,
      signal,
      imagerDigest: () => raceAbort(pinned(), signal),
    };
    const plan = await raceAbort(module.plan(ctx), signal);
    const deps: Record<string, PlannedAsset> = {};
    for (const [name, depReq] of Object.entries(plan.deps ?? {})) {
      deps[name] = await this.plan(loaded, version, depReq, signal, pinned);
    }
    const depKeys = Object.fromEntries(Object.entries(deps).map(([n, d]) => [n, d.key]));
    const key = cacheKey(module.kind, module.salt, { ...plan.key, deps: depKeys });
    return { key, request: req, plan, deps, schematic: loaded, version, pinned };
  }

  /** Returns the asset for a planned request, building it (and what it is made from) on a miss. */
  realize(planned: PlannedAsset, signal?: AbortSignal): Promise<CachedAsset> {
    return this.#realizeTracked(planned, signal);
  }

  /** {@link realize} below the public entry: dependencies come through here, not through overrides. */
  async #realizeTracked(planned: PlannedAsset, signal?: AbortSignal): Promise<CachedAsset> {
    this.#pending.set(planned.key, (this.#pending.get(planned.key) ?? 0) + 1);
    try {
      return await this.#realize(planned, signal);
    } finally {
      const n = (this.#pending.get(planned.key) ?? 1) - 1;
      if (n > 0) this.#pending.set(planned.key, n);
      else this.#pending.delete(planned.key);
    }
  }

  async #realize(planned: PlannedAsset, signal?: AbortSignal): Promise<CachedAsset> {
    const { runner, release } = this.#d;
    const hit = await runner.lookup(planned.key);
    if (hit) return hit;
    const deps: Record<string, CachedAsset> = {};
    for (const [name, dep] of Object.entries(planned.deps))
      deps[name] = await this.#realizeTracked(dep, signal);
    const { plan, request, version } = planned;
    return runner.get(
      planned.key,
      async (workDir, buildSignal) =>
        plan.build({
          workDir,
          signal: buildSignal,
          deps,
          inputs: async () => release.inputs(version, request.arch, buildSignal, await planned.pinned()),
        }),
      signal,
      { light: plan.light === true, kind: request.kind },
    );
  }

  /**
   * Where a planned asset stands. While it waits for what it is made from, the dependency's state
   * is reported (named in `dependency`), so a slow first ISO shows its initramfs steps.
   */
  async status(planned: PlannedAsset): Promise<AssetStatus> {
    const hit = await this.#d.runner.peek(planned.key);
    if (hit) return { state: 'ready', size: hit.size, sha256: hit.sha256 };
    const own = this.#d.runner.status(planned.key);
    // A remembered failure being retried is not failed: the retry is on its way to the runner.
    const retrying = own?.state === 'failed' && this.#pending.has(planned.key);
    if (own && !retrying) return { ...own, kind: planned.request.kind };
    for (const [name, dep] of Object.entries(planned.deps)) {
      const s = await this.status(dep);
      if (s.state !== 'ready' && s.state !== 'idle') return { ...s, dependency: s.dependency ?? name };
    }
    // Requested, not in the runner yet (checking the cache, about to queue): position 0.
    if (this.#pending.has(planned.key)) return { state: 'queued', position: 0, kind: planned.request.kind };
    return { state: 'idle' };
  }

  /** Starts building a planned asset without anyone waiting for it (failures stay in its status). */
  start(planned: PlannedAsset): void {
    this.realize(planned).catch(() => undefined);
  }

  /** Returns the asset for (schematic, version, request), building it on a cache miss. */
  async get(
    loaded: LoadedSchematic,
    version: string,
    req: AssetRequest,
    signal?: AbortSignal,
  ): Promise<CachedAsset> {
    return this.realize(await this.plan(loaded, version, req, signal), signal);
  }
}

/** The cache key: sha256 over the kind, its builder salt and everything that determines the bytes. */
export function cacheKey(kind: AssetKind, salt: string, parts: Readonly<Record<string, unknown>>): string {
  return createHash('sha256')
    .update(JSON.stringify({ kind, salt, ...parts }))
    .digest('hex');
}
