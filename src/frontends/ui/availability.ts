/**
 * Whether this factory can deliver what the final page offers. Each file is planned through the
 * asset service — the plan the asset route makes, so the same refusal: a kind without a builder,
 * GRUB modules this host lacks, a bootloader choice that cannot work for the medium, … — without
 * building anything, and its build status is read. Only what plans is linked; everything else is
 * listed as unavailable with the reason the asset route would give.
 *
 * Plans are remembered for a minute (bounded): a final page plans about ten assets, each with its
 * dependencies, which would otherwise cost several times the rest of the page. A schematic never
 * changes under its ID; a moved release tag shows within the minute (the links plan afresh on
 * every request anyway). Build status is read fresh on every page.
 */
import type { AssetService, PlannedAsset } from '../../assets/asset-service.js';
import { FactoryError, isFactoryError } from '../../errors.js';
import { parseAssetPath } from '../../profile/path.js';
import type { LoadedSchematic } from '../../storage/schematic-service.js';
import { statusBody, type StatusBody } from '../http/routes/status.js';

/** One offered file: deliverable (with its build status now), or not and why. */
export type Availability =
  | { readonly ok: true; readonly status: StatusBody }
  | { readonly ok: false; readonly code: string; readonly reason: string };

/** The part of the asset service the probes use (plans and status reads; never a build). */
export type AssetPlanner = Pick<AssetService, 'plan' | 'status'>;

const PLAN_TTL_MS = 60_000;
const MAX_PLANS = 4096;

/** Plans offered files (remembering plans briefly) and reads their status. */
export class AssetProbe {
  readonly #assets: AssetPlanner;
  readonly #plans = new Map<string, { at: number; plan: Promise<PlannedAsset> }>();

  constructor(assets: AssetPlanner) {
    this.#assets = assets;
  }

  /** Probes every file (each once) for `loaded` at `versionTag`. */
  async probe(
    loaded: LoadedSchematic,
    versionTag: string,
    files: readonly string[],
  ): Promise<ReadonlyMap<string, Availability>> {
    const one = async (file: string): Promise<Availability> => {
      try {
        const planned = await this.#plan(loaded, versionTag, file);
        return { ok: true, status: statusBody(await this.#assets.status(planned)) };
      } catch (e) {
        if (isFactoryError(e)) return { ok: false, code: e.code, reason: e.message };
        throw e;
      }
    };
    const unique = [...new Set(files)];
    return new Map(await Promise.all(unique.map(async (f) => [f, await one(f)] as const)));
  }

  #plan(loaded: LoadedSchematic, versionTag: string, file: string): Promise<PlannedAsset> {
    const key = `${loaded.id}\0${versionTag}\0${file}`;
    const now = Date.now();
    const hit = this.#plans.get(key);
    if (hit && now - hit.at < PLAN_TTL_MS) return hit.plan;
    const plan = this.#assets.plan(loaded, versionTag, parseAssetPath(file));
    this.#plans.delete(key);
    this.#plans.set(key, { at: now, plan });
    // Refusals that describe the request (4xx, a missing builder or tool) are kept like plans;
    // anything else (an upstream hiccup) is asked again next time.
    plan.catch((e: unknown) => {
      if (!(e instanceof FactoryError && (e.status < 500 || e.code === 'NOT_IMPLEMENTED'))) {
        if (this.#plans.get(key)?.plan === plan) this.#plans.delete(key);
      }
    });
    while (this.#plans.size > MAX_PLANS) {
      const oldest = this.#plans.keys().next().value;
      if (oldest === undefined) break;
      this.#plans.delete(oldest);
    }
    return plan;
  }
}
