/**
 * Retry policy: bounded attempts with exponential backoff and jitter, honouring `Retry-After`.
 * Sleeping and randomness are injected so tests can observe the delays without waiting.
 */

/** How often and how patiently to retry transient failures. */
export interface RetryPolicy {
  /** Total attempts including the first (≥ 1). */
  readonly maxAttempts: number;
  /** Delay before the first retry, doubled for each further one. */
  readonly baseDelayMs: number;
  /** Upper bound of the exponential delay. */
  readonly maxDelayMs: number;
  /** Upper bound for a server-requested `Retry-After` delay. */
  readonly maxRetryAfterMs: number;
}

/** Defaults: 4 attempts, 250 ms doubling up to 8 s; Retry-After honoured up to 60 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

/** Waits `ms` milliseconds unless `signal` aborts first (then rejects with its reason). */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The real timer-based {@link Sleep}. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Merges a partial policy over the defaults, clamping nonsense values. */
export function resolveRetryPolicy(partial: Partial<RetryPolicy> = {}): RetryPolicy {
  const p = { ...DEFAULT_RETRY_POLICY, ...partial };
  return {
    maxAttempts: Math.max(1, Math.floor(p.maxAttempts)),
    baseDelayMs: Math.max(0, p.baseDelayMs),
    maxDelayMs: Math.max(0, p.maxDelayMs),
    maxRetryAfterMs: Math.max(0, p.maxRetryAfterMs),
  };
}

/**
 * Delay before retry number `retry` (1 = first retry): "equal jitter", i.e. half the exponential
 * delay plus a random share of the other half, so concurrent clients spread out but never retry
 * immediately. A server's Retry-After wins when given (capped by the policy).
 */
export function backoffDelay(
  policy: RetryPolicy,
  retry: number,
  random: () => number,
  retryAfterMs?: number,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** Parses `Retry-After` (delta-seconds or HTTP-date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
