/**
 * The load generator's HTTP client (node:http): every response is read to its end and hashed, and
 * the outcome says whether the body was whole — `complete` is Node's own verdict (the message ended
 * after exactly Content-Length bytes), so a transfer cut by a crash is never mistaken for a file.
 */
import { createHash } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/** One request's outcome. */
export interface Outcome {
  /** HTTP status; 0 when no response arrived. */
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Body bytes received. */
  readonly bytes: number;
  /** sha256 of the body received (hex). */
  readonly sha256: string;
  /** The body, when asked for (`keepBody`). */
  readonly body?: Buffer;
  /** The response ended normally with its announced length. */
  readonly complete: boolean;
  /** Network or timeout error, if any (the request failed or was cut). */
  readonly error?: string;
  /** Time to the response headers and to the last byte. */
  readonly headersMs: number;
  readonly ms: number;
}

/** Options of {@link send}. */
export interface SendOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Whole-request deadline (default 120 s). */
  readonly timeoutMs?: number;
  /** Stop reading (destroy the connection) after this many body bytes: an aborted client. */
  readonly abortAfterBytes?: number;
  /** Give up (destroy) after this long without a response: an impatient client (cold builds). */
  readonly abortAfterMs?: number;
  readonly keepBody?: boolean;
  readonly agent?: Agent;
}

/** Sends one request and reads the whole answer. Never rejects: failures are in the outcome. */
export function send(url: string, o: SendOptions = {}): Promise<Outcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let headersMs = 0;
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let bytes = 0;
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    const finish = (complete: boolean, error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (abortTimer) clearTimeout(abortTimer);
      resolve({
        status,
        headers,
        bytes,
        sha256: hash.digest('hex'),
        ...(o.keepBody ? { body: Buffer.concat(chunks) } : {}),
        complete,
        ...(error !== undefined ? { error } : {}),
        headersMs,
        ms: performance.now() - t0,
      });
    };
    const req = httpRequest(
      url,
      { method: o.method ?? 'GET', headers: o.headers, agent: o.agent ?? false },
      (res) => {
        status = res.statusCode ?? 0;
        headers = res.headers;
        headersMs = performance.now() - t0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          hash.update(chunk);
          if (o.keepBody) chunks.push(chunk);
          if (o.abortAfterBytes !== undefined && bytes >= o.abortAfterBytes) {
            req.destroy();
            finish(false, 'aborted by the client');
          }
        });
        res.on('end', () => finish(res.complete, res.complete ? undefined : 'response ended early'));
        res.on('error', (e) => finish(false, e.message));
        res.on('aborted', () => finish(false, 'response aborted'));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish(false, `timeout after ${o.timeoutMs ?? 120_000} ms`);
    }, o.timeoutMs ?? 120_000);
    const abortTimer =
      o.abortAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            req.destroy();
            finish(false, 'aborted by the client');
          }, o.abortAfterMs);
    req.on('error', (e) => finish(false, e.message));
    req.end(o.body);
  });
}

/** The response's ETag without quotes ('' when absent). */
export function etagOf(o: Outcome): string {
  const e = o.headers.etag;
  return typeof e === 'string' ? e.replace(/^"|"$/g, '') : '';
}

/** A 200 whose bytes are whole and hash to its ETag. */
export function wholeAndVerified(o: Outcome): boolean {
  return (
    o.status === 200 &&
    o.complete &&
    o.bytes === Number(o.headers['content-length']) &&
    o.sha256 === etagOf(o)
  );
}

/** The body as text (needs `keepBody`). */
export function text(o: Outcome): string {
  return o.body?.toString('utf8') ?? '';
}

/** POSTs a schematic; resolves with its ID (throws on anything but 201). */
export async function createSchematic(base: string, yaml: string, agent?: Agent): Promise<string> {
  const res = await send(`${base}/schematics`, {
    method: 'POST',
    body: yaml,
    keepBody: true,
    ...(agent ? { agent } : {}),
  });
  if (res.status !== 201) throw new Error(`POST /schematics: ${res.status} ${res.error ?? text(res)}`);
  return (JSON.parse(text(res)) as { id: string }).id;
}
