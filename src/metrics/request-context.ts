/**
 * Per-request metric context for asset requests, carried by AsyncLocalStorage from the HTTP hook
 * down to the asset cache (the build of the first requester runs in that requester's context). It
 * lets the cache decorator label hits and builds with upstream's talos_version / output_kind /
 * arch labels without threading metrics through the asset pipeline.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AssetLabels } from './metrics.js';

/** What one asset request has learned so far. */
export interface AssetRequestContext {
  readonly labels: AssetLabels;
  /** When the first cache miss of this request happened (the build's start, queue included). */
  missAt?: number;
  /** Official extensions of the schematic, once it is loaded. */
  extensions?: readonly string[];
}

/** The storage shared by the HTTP hooks and the decorators of one factory. */
export class MetricsContext {
  readonly #als = new AsyncLocalStorage<AssetRequestContext>();

  /** Runs `fn` inside `ctx`. */
  run<T>(ctx: AssetRequestContext, fn: () => T): T {
    return this.#als.run(ctx, fn);
  }

  /** The context of the running request, if it is an asset request. */
  current(): AssetRequestContext | undefined {
    return this.#als.getStore();
  }
}

/** Labels for work done outside an asset request (CLI builds, warm-ups). */
export const UNKNOWN_LABELS: AssetLabels = {
  talos_version: 'unknown',
  output_kind: 'unknown',
  arch: 'unknown',
};
