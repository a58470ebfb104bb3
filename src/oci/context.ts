/**
 * What the client's operation modules share: the transport and the limits/policies that shape
 * multi-request operations (downloads, uploads).
 */
import type { RepositoryRef } from './reference.js';
import { backoffDelay, type RetryPolicy, type Sleep } from './retry.js';
import type { Transport } from './transport.js';

/** Shared state handed to each operation module by the client. */
export interface ClientContext {
  readonly transport: Transport;
  readonly retry: RetryPolicy;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly maxManifestBytes: number;
  readonly chunkSize: number;
}

/** `/v2/<repository>/<suffix>` for a repository. */
export function repoPath(repo: RepositoryRef, suffix: string): string {
  return `/v2/${repo.repository}/${suffix}`;
}

/**
 * Waits before operation-level retry number `retry` (1-based) using the client's policy, or the
 * registry's Retry-After when it sent one.
 */
export function waitBeforeRetry(
  ctx: ClientContext,
  retry: number,
  signal?: AbortSignal,
  retryAfterMs?: number,
): Promise<void> {
  return ctx.sleep(backoffDelay(ctx.retry, retry, ctx.random, retryAfterMs), signal);
}
