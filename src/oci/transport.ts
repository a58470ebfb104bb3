/**
 * Sends registry requests: base URL per host, authentication (with one re-try after a 401),
 * per-attempt timeouts, caller AbortSignals, and bounded retries of transient failures
 * (connection errors, timeouts, 429 with Retry-After, 5xx). Every failure leaves as a FactoryError
 * naming the registry, the request and what it was for.
 */
import type { Readable } from 'node:stream';
import { FactoryError } from '../errors.js';
import type { Authorizer, SentAuth } from './auth/authorizer.js';
import type { FetchLike } from './auth/token.js';
import {
  describeNetworkError,
  isTransientNetworkError,
  readErrorText,
  statusText,
  TransientFailure,
} from './failure.js';
import { type HostResolver, registryBaseUrl } from './host-config.js';
import { backoffDelay, parseRetryAfter, type RetryPolicy, type Sleep } from './retry.js';

/** A request body; a factory because retries must resend it from the start. */
export type BodySource = () => Uint8Array | Readable;

/** One logical registry request (possibly sent several times). */
export interface RegistryRequest {
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  readonly registry: string;
  /** `/v2/…` path with query, or an absolute URL (upload `Location`, pagination `Link`). */
  readonly target: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: BodySource;
  /** Token scopes the request needs. */
  readonly scopes: readonly string[];
  /** Statuses handed to the caller; anything else becomes an error. */
  readonly expect: readonly number[];
  /** What the request is about, for messages: e.g. `manifest siderolabs/imager:v1.10.0`. */
  readonly what: string;
  /** Retry transient failures (default true). Off for requests that must not be resent. */
  readonly retry?: boolean;
  readonly signal?: AbortSignal;
}

/** A response with one of the expected statuses. */
export interface RegistryResponse {
  readonly status: number;
  readonly headers: Headers;
  /** Final URL (after redirects). */
  readonly url: string;
  /** Reads the whole body; calls `tooLarge` (and stops reading) beyond `maxBytes`. */
  bytes(maxBytes: number, tooLarge: (size?: number) => FactoryError): Promise<Buffer>;
  /** Streams the body; the timeout then applies to each wait for data (idle timeout). */
  stream(): AsyncGenerator<Buffer, void, undefined>;
}

/** Dependencies of a {@link Transport}. */
export interface TransportOptions {
  readonly fetch: FetchLike;
  readonly hosts: HostResolver;
  readonly authorizer: Authorizer;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number;
  readonly userAgent: string;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly now: () => number;
}

const UNAUTHORIZED = Symbol('unauthorized');

// Per-attempt timer and abort wiring; `streaming` hands its lifetime to the body stream.
class Attempt {
  readonly controller = new AbortController();
  timedOut = false;
  streaming = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly onAbort = (): void => this.controller.abort(this.signal?.reason);

  constructor(
    private readonly timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
    this.arm();
  }

  arm(): void {
    this.disarm();
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error(`timed out after ${this.timeoutMs} ms`));
    }, this.timeoutMs);
  }

  disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.disarm();
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}

/** Registry HTTP transport shared by all client operations. */
export class Transport {
  constructor(private readonly options: TransportOptions) {}

  /** Absolute URL for a registry-relative target. */
  url(registry: string, target: string): string {
    if (/^https?:\/\//i.test(target)) return target;
    return new URL(target, registryBaseUrl(registry, this.options.hosts(registry))).toString();
  }

  /**
   * Sends `req` and runs `consume` on an expected response. Transient failures, including those
   * thrown while `consume` reads a body, are retried per the policy; `consume` must therefore be
   * safe to run again.
   */
  async execute<T>(req: RegistryRequest, consume: (res: RegistryResponse) => Promise<T>): Promise<T> {
    const policy = this.options.retry;
    const maxAttempts = req.retry === false ? 1 : policy.maxAttempts;
    let authRetried = false;
    for (let attempt = 1; ;) {
      try {
        const result = await this.once(req, consume, authRetried);
        if (result !== UNAUTHORIZED) return result;
        // One re-send after a 401: the authorizer has learned the challenge or dropped a stale token.
        authRetried = true;
        continue;
      } catch (e) {
        if (!(e instanceof TransientFailure)) throw e;
        if (attempt >= maxAttempts) throw e.toFactoryError(attempt, req.retry === false);
        const delay = backoffDelay(policy, attempt, this.options.random, e.retryAfterMs);
        attempt++;
        await this.options.sleep(delay, req.signal);
      }
    }
  }

  private describe(req: RegistryRequest): string {
    const path = /^https?:\/\//i.test(req.target) ? new URL(req.target).pathname : req.target.split('?')[0];
    return `${req.method} ${path} (${req.what})`;
  }

  private async once<T>(
    req: RegistryRequest,
    consume: (res: RegistryResponse) => Promise<T>,
    authRetried: boolean,
  ): Promise<T | typeof UNAUTHORIZED> {
    const { registry } = req;
    const sent: SentAuth = await this.options.authorizer.authorize(registry, req.scopes);
    const headers: Record<string, string> = {
      'user-agent': this.options.userAgent,
      // Transfer compression would make Content-Length and digests refer to different bytes.
      'accept-encoding': 'identity',
      ...req.headers,
    };
    const url = this.url(registry, req.target);
    // Credentials go only to the registry itself, never to a foreign upload/redirect host.
    if (sent.header && new URL(url).origin === new URL(this.url(registry, '/v2/')).origin)
      headers.authorization = sent.header;
    const attempt = new Attempt(this.options.timeoutMs, req.signal);
    const init: RequestInit & { duplex?: 'half' } = {
      method: req.method,
      headers,
      signal: attempt.controller.signal,
      redirect: 'follow',
    };
    if (req.body) {
      init.body = req.body() as unknown as RequestInit['body'];
      init.duplex = 'half';
    }
    const label = this.describe(req);
    try {
      let res: Response;
      try {
        res = await this.options.fetch(url, init);
      } catch (e) {
        throw this.networkFailure(req, attempt, e, `registry ${registry} unreachable for ${label}`);
      }
      if (res.status === 401) {
        const errorText = await readErrorText(res.body);
        if (authRetried) {
          throw new FactoryError(
            'UPSTREAM_AUTH',
            `registry ${registry} denied ${label} with ${sent.description}: ${statusText(401, res.statusText, errorText)}`,
          );
        }
        await this.options.authorizer.unauthorized(
          registry,
          res.headers.get('www-authenticate'),
          req.scopes,
          req.what,
        );
        return UNAUTHORIZED;
      }
      if (!req.expect.includes(res.status)) throw await this.statusFailure(req, res, label, sent);
      return await consume(this.wrap(req, res, attempt, label));
    } catch (e) {
      if (e instanceof FactoryError || e instanceof TransientFailure) throw e;
      throw this.networkFailure(req, attempt, e, `registry ${registry} connection failed during ${label}`);
    } finally {
      if (!attempt.streaming) {
        attempt.close();
        // Frees the connection when the caller did not read the body (HEAD, ignored bodies).
        attempt.controller.abort(new Error('response no longer needed'));
      }
    }
  }

  private networkFailure(req: RegistryRequest, attempt: Attempt, e: unknown, context: string): Error {
    if (req.signal?.aborted)
      return req.signal.reason instanceof Error ? req.signal.reason : new Error(String(req.signal.reason));
    if (attempt.timedOut)
      return new TransientFailure('timeout', `${context}: timed out after ${this.options.timeoutMs} ms`);
    if (isTransientNetworkError(e))
      return new TransientFailure('connection', `${context}: ${describeNetworkError(e)}`, undefined, {
        cause: e,
      });
    return new FactoryError('UPSTREAM_UNAVAILABLE', `${context}: ${describeNetworkError(e)}`, { cause: e });
  }

  private async statusFailure(
    req: RegistryRequest,
    res: Response,
    label: string,
    sent: SentAuth,
  ): Promise<Error> {
    const detail = statusText(
      res.status,
      res.statusText,
      req.method === 'HEAD' ? '' : await readErrorText(res.body),
    );
    const registry = req.registry;
    if (res.status === 429 || res.status >= 500) {
      const retryAfter = parseRetryAfter(res.headers.get('retry-after'), this.options.now());
      return new TransientFailure('status', `registry ${registry} failed ${label}: ${detail}`, retryAfter);
    }
    if (res.status === 404)
      return new FactoryError('NOT_FOUND', `registry ${registry} has no ${req.what}: ${detail}`);
    if (res.status === 403)
      return new FactoryError(
        'UPSTREAM_AUTH',
        `registry ${registry} denied ${label} with ${sent.description}: ${detail}`,
      );
    return new FactoryError('UPSTREAM_UNAVAILABLE', `registry ${registry} rejected ${label}: ${detail}`);
  }

  private wrap(req: RegistryRequest, res: Response, attempt: Attempt, label: string): RegistryResponse {
    const fail = (e: unknown): Error =>
      this.networkFailure(
        req,
        attempt,
        e,
        `registry ${req.registry} connection failed while reading ${label}`,
      );
    return {
      status: res.status,
      headers: res.headers,
      url: res.url,
      bytes: async (maxBytes, tooLarge) => {
        const declared = res.headers.get('content-length');
        if (declared !== null && Number(declared) > maxBytes) throw tooLarge(Number(declared));
        if (!res.body) return Buffer.alloc(0);
        const chunks: Buffer[] = [];
        let size = 0;
        const reader = res.body.getReader();
        try {
          for (;;) {
            let chunk: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
            try {
              chunk = await reader.read();
            } catch (e) {
              throw fail(e);
            }
            if (chunk.done) break;
            size += chunk.value.byteLength;
            if (size > maxBytes) throw tooLarge();
            chunks.push(Buffer.from(chunk.value.buffer, chunk.value.byteOffset, chunk.value.byteLength));
          }
        } finally {
          reader.releaseLock();
        }
        return Buffer.concat(chunks);
      },
      stream: () => {
        attempt.streaming = true;
        attempt.disarm();
        return this.streamBody(req, res, attempt, label);
      },
    };
  }

  private async *streamBody(
    req: RegistryRequest,
    res: Response,
    attempt: Attempt,
    label: string,
  ): AsyncGenerator<Buffer, void, undefined> {
    if (!res.body) {
      attempt.close();
      return;
    }
    const reader = res.body.getReader();
    let finished = false;
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
        attempt.arm();
        try {
          chunk = await reader.read();
        } catch (e) {
          const failure = this.networkFailure(
            req,
            attempt,
            e,
            `registry ${req.registry} transfer interrupted during ${label}`,
          );
          throw failure instanceof TransientFailure ? failure.toFactoryError(1, true) : failure;
        } finally {
          attempt.disarm();
        }
        if (chunk.done) {
          finished = true;
          return;
        }
        yield Buffer.from(chunk.value.buffer, chunk.value.byteOffset, chunk.value.byteLength);
      }
    } finally {
      attempt.close();
      if (!finished) {
        attempt.controller.abort(new Error('stream closed early'));
        reader.cancel().catch(() => undefined);
      }
    }
  }
}
