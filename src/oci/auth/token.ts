/**
 * The distribution bearer-token flow: `GET <realm>?service=…&scope=…` (anonymously or with Basic
 * credentials) returns `{token | access_token, expires_in}`.
 */
import { FactoryError } from '../../errors.js';
import {
  describeNetworkError,
  isTransientNetworkError,
  readErrorText,
  statusText,
  TransientFailure,
} from '../failure.js';
import type { Credentials } from './credentials.js';

/** A `fetch`-compatible function (Node's global fetch by default). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** What one token request needs. */
export interface TokenRequest {
  readonly realm: string;
  readonly service?: string;
  readonly scopes: readonly string[];
  readonly credentials?: Credentials;
  /** Registry host the token is for (named in errors). */
  readonly registry: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly userAgent: string;
}

/** A token and when (epoch ms) to stop using it. */
export interface BearerToken {
  readonly token: string;
  readonly expiresAt: number;
}

const MAX_TOKEN_RESPONSE = 1 << 20;
// Tokens are refreshed this long before the issuer says they expire, to absorb clock skew.
const EXPIRY_MARGIN_MS = 10_000;
// Distribution's documented default lifetime when the issuer omits `expires_in`.
const DEFAULT_LIFETIME_S = 60;

function tokenUrl(req: TokenRequest): string {
  const url = new URL(req.realm);
  if (req.service !== undefined) url.searchParams.set('service', req.service);
  for (const scope of req.scopes) url.searchParams.append('scope', scope);
  if (req.credentials) url.searchParams.set('account', req.credentials.username);
  return url.toString();
}

async function readLimited(res: Response, realm: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_TOKEN_RESPONSE)
    throw new FactoryError('UPSTREAM_AUTH', `token service ${realm} sent a ${declared}-byte response`);
  const text = await res.text();
  if (text.length > MAX_TOKEN_RESPONSE)
    throw new FactoryError('UPSTREAM_AUTH', `token service ${realm} sent an oversized response`);
  return text;
}

/** Asks the token service for a bearer token; throws UPSTREAM_AUTH when refused. */
export async function requestToken(
  fetchFn: FetchLike,
  req: TokenRequest,
  now: () => number,
): Promise<BearerToken> {
  const who = req.credentials ? `user "${req.credentials.username}"` : 'anonymous';
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('token request timed out'));
  }, req.timeoutMs);
  const onAbort = (): void => controller.abort(req.signal?.reason);
  req.signal?.addEventListener('abort', onAbort, { once: true });
  const headers: Record<string, string> = { 'user-agent': req.userAgent, accept: 'application/json' };
  if (req.credentials) {
    headers.authorization = `Basic ${Buffer.from(`${req.credentials.username}:${req.credentials.password}`).toString('base64')}`;
  }
  const target = `token service ${req.realm} (for ${req.registry}, scope ${req.scopes.join(' ')}, ${who})`;
  try {
    const res = await fetchFn(tokenUrl(req), {
      method: 'GET',
      headers,
      signal: controller.signal,
      redirect: 'follow',
    });
    if (res.status === 401 || res.status === 403) {
      throw new FactoryError(
        'UPSTREAM_AUTH',
        `${target} refused: ${statusText(res.status, res.statusText, await readErrorText(res.body))}`,
      );
    }
    if (res.status === 429 || res.status >= 500) {
      throw new TransientFailure(
        'status',
        `${target} failed: ${statusText(res.status, res.statusText, await readErrorText(res.body))}`,
      );
    }
    if (res.status !== 200) {
      throw new FactoryError(
        'UPSTREAM_AUTH',
        `${target} failed: ${statusText(res.status, res.statusText, await readErrorText(res.body))}`,
      );
    }
    const text = await readLimited(res, req.realm);
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new FactoryError('UPSTREAM_AUTH', `${target} answered with invalid JSON`);
    }
    const body = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
    const token = typeof body.token === 'string' && body.token ? body.token : body.access_token;
    if (typeof token !== 'string' || token.length === 0)
      throw new FactoryError('UPSTREAM_AUTH', `${target} answered without a token`);
    const lifetime =
      typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_LIFETIME_S;
    return { token, expiresAt: now() + Math.max(lifetime * 1000 - EXPIRY_MARGIN_MS, lifetime * 500) };
  } catch (e) {
    if (e instanceof FactoryError || e instanceof TransientFailure) throw e;
    if (req.signal?.aborted) throw req.signal.reason;
    if (timedOut) throw new TransientFailure('timeout', `${target} timed out after ${req.timeoutMs} ms`);
    if (isTransientNetworkError(e))
      throw new TransientFailure(
        'connection',
        `${target} unreachable: ${describeNetworkError(e)}`,
        undefined,
        { cause: e },
      );
    throw new FactoryError('UPSTREAM_AUTH', `${target} failed: ${describeNetworkError(e)}`, { cause: e });
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
  }
}
