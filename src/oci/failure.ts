/**
 * Classification of transport failures into "transient" (worth retrying) and final
 * FactoryErrors, and the wording of upstream error messages.
 */
import { FactoryError } from '../errors.js';

/** Why a transient failure happened. */
export type TransientKind = 'connection' | 'timeout' | 'status';

/** A failure worth retrying; converted to a FactoryError once retries are exhausted. */
export class TransientFailure extends Error {
  constructor(
    readonly kind: TransientKind,
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransientFailure';
  }

  /**
   * The final error after `attempts` tries. `restartable` marks failures of requests that were
   * deliberately not retried one by one, so the owner of the whole operation may restart it.
   */
  toFactoryError(attempts: number, restartable: boolean): FactoryError {
    const suffix = attempts > 1 ? ` (after ${attempts} attempts)` : '';
    const code = this.kind === 'timeout' ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE';
    const options = { cause: this.cause ?? this };
    const message = `${this.message}${suffix}`;
    return restartable
      ? new TransientUpstreamError(code, message, { ...options, retryAfterMs: this.retryAfterMs })
      : new FactoryError(code, message, options);
  }
}

/**
 * An UPSTREAM_UNAVAILABLE/UPSTREAM_TIMEOUT of transient nature that has not been retried yet
 * (a body stream cut short or stalled, an upload request sent only once). Code owning the whole
 * operation (a download to a file, an upload session) may restart that operation on it.
 */
export class TransientUpstreamError extends FactoryError {
  /** The registry's Retry-After, when it sent one (the restarting owner honours it). */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ConstructorParameters<typeof FactoryError>[0],
    message: string,
    options: { cause?: unknown; retryAfterMs?: number | undefined } = {},
  ) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
}

// Socket-level error codes that mean "try again later", as reported by Node and undici.
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function errorCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** The most specific description of a (possibly nested) network error: `code: message`. */
export function describeNetworkError(e: unknown): string {
  const parts: string[] = [];
  let current: unknown = e;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = errorCode(current);
    parts.push(code ? `${current.message} [${code}]` : current.message);
    current = current.cause;
  }
  if (parts.length === 0) parts.push(String(e));
  return parts.join(': ');
}

/** True when a thrown network error (fetch or body read) is worth retrying. */
export function isTransientNetworkError(e: unknown): boolean {
  let current: unknown = e;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = errorCode(current);
    if (code && TRANSIENT_CODES.has(code)) return true;
    // undici reports a body cut short by the peer as `TypeError: terminated`.
    if (current instanceof TypeError && current.message === 'terminated') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Reads at most `max` bytes of an error body as text (registries send OCI error JSON). */
export async function readErrorText(body: ReadableStream<Uint8Array> | null, max = 2048): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      size += value.byteLength;
    }
  } catch {
    // The status line already says what failed; a broken error body adds nothing.
  } finally {
    reader.cancel().catch(() => undefined);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim().replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** `HTTP 500 Internal Server Error: {"errors":…}` — the status plus the registry's error text. */
export function statusText(status: number, statusMessage: string, errorText: string): string {
  const head = `HTTP ${status}${statusMessage ? ` ${statusMessage}` : ''}`;
  return errorText ? `${head}: ${errorText}` : head;
}
