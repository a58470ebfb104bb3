// Backoff arithmetic, Retry-After parsing and abortable sleeping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  realSleep,
  resolveRetryPolicy,
} from '../../src/oci/index.js';

test('equal-jitter exponential backoff, capped', () => {
  const p = resolveRetryPolicy({ baseDelayMs: 100, maxDelayMs: 1000 });
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(p, n, () => 0)),
    [50, 100, 200, 400, 500, 500],
  );
  assert.deepEqual(
    [1, 2, 3].map((n) => backoffDelay(p, n, () => 1)),
    [100, 200, 400],
  );
});

test('Retry-After wins but is capped', () => {
  const p = resolveRetryPolicy({ maxRetryAfterMs: 5000 });
  assert.equal(
    backoffDelay(p, 1, () => 0.5, 3000),
    3000,
  );
  assert.equal(
    backoffDelay(p, 1, () => 0.5, 60_000),
    5000,
  );
});

test('parseRetryAfter: seconds, HTTP date, garbage', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('7', now), 7000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now), 10_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
});

test('policy clamps nonsense and keeps defaults', () => {
  assert.deepEqual(resolveRetryPolicy(), DEFAULT_RETRY_POLICY);
  assert.equal(resolveRetryPolicy({ maxAttempts: 0 }).maxAttempts, 1);
});

test('realSleep rejects with the abort reason', async () => {
  const controller = new AbortController();
  const reason = new Error('stop');
  const pending = realSleep(10_000, controller.signal);
  controller.abort(reason);
  await assert.rejects(pending, (e: unknown) => e === reason);
  await realSleep(1);
});
