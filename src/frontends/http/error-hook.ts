/**
 * The one place where errors become HTTP responses. FactoryError codes map to statuses through
 * ERROR_CATALOG; framework errors (body too large, malformed URL, oversized headers, timeouts,
 * malformed requests) are translated to catalog codes first, and never echo the raw request back.
 * Bodies are `text/plain` (message + newline, as Go's http.Error writes and existing clients expect)
 * unless the client asks for JSON; on `/v2` paths they are OCI error documents, which registry
 * clients print. Every error response carries `Server`, `X-Request-ID` and
 * `X-Content-Type-Options: nosniff` — also the ones written straight to the socket for requests
 * the HTTP parser refused (they never reach Fastify).
 */
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { FactoryError, storageError, type ErrorCode } from '../../errors.js';
import { isRegistryPath, ociErrorDocument } from './oci-error.js';

/** Rewrites a message before it is sent (removes server paths); identity by default. */
export type Redact = (message: string) => string;

/** How error responses are finished. */
export interface ErrorOptions {
  redact?: Redact;
  /** The `Server` header value, set when the response does not carry one yet (framework errors). */
  server?: string;
}

const FRAMEWORK: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'BODY_TOO_LARGE', message: 'request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA', message: 'unsupported media type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'SCHEMATIC_INVALID',
    message: 'request body size did not match Content-Length',
  },
  FST_ERR_BAD_URL: { code: 'BAD_REQUEST', message: 'malformed URL: invalid percent-encoding' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'URI_TOO_LONG', message: 'URL path segment is too long' },
  FST_ERR_ASYNC_CONSTRAINT: { code: 'BAD_REQUEST', message: 'bad request' },
};

/** Translates anything thrown by a handler or the framework into a FactoryError. */
export function asFactoryError(err: unknown): FactoryError {
  if (err instanceof FactoryError) return err;
  const fe = err as Partial<FastifyError>;
  const mapped = fe.code ? FRAMEWORK[fe.code] : undefined;
  if (mapped) return new FactoryError(mapped.code, mapped.message, { cause: err });
  const storage = storageError(err);
  if (storage) return storage;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Framework messages may quote the request (URL, headers): a generic text per status instead.
    const text = (STATUS_CODES[fe.statusCode] ?? 'bad request').toLowerCase();
    return new FactoryError(fe.statusCode === 408 ? 'REQUEST_TIMEOUT' : 'BAD_REQUEST', text, { cause: err });
  }
  return new FactoryError('INTERNAL', 'internal server error', { cause: err });
}

/** True when the client prefers a JSON error document. */
function wantsJson(accept: string | undefined): boolean {
  return /\bapplication\/(problem\+)?json\b/i.test(accept ?? '');
}

/** Statuses that are a refusal the factory meant to give, not a fault: logged briefly. */
function expected(status: number): boolean {
  return status < 500 || status === 501 || status === 503;
}

/** Headers every error response gets on top of the error's own. */
function extraHeaders(fe: FactoryError): Record<string, string> {
  const out: Record<string, string> = { ...fe.headers };
  // A client told "busy" should know when to come back.
  if ((fe.code === 'BUSY' || fe.code === 'NOT_READY') && out['Retry-After'] === undefined)
    out['Retry-After'] = '5';
  return out;
}

/** The body of an error response: `{code,message}` JSON or `message\n` text. */
function renderBody(fe: FactoryError, message: string, json: boolean): { type: string; body: string } {
  return json
    ? {
        type: 'application/json; charset=utf-8',
        body: JSON.stringify({ code: fe.code, message }) + '\n',
      }
    : { type: 'text/plain; charset=utf-8', body: `${message}\n` };
}

/** Sends `err` as the response, logging faults with their cause and refusals without a stack. */
export function sendError(
  err: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  options: ErrorOptions = {},
): FastifyReply {
  const fe = asFactoryError(err);
  // Errors raised before the onRequest hooks ran (malformed URLs) still get the stamp.
  if (options.server !== undefined && !reply.hasHeader('Server')) reply.header('Server', options.server);
  if (!reply.hasHeader('X-Request-ID')) reply.header('X-Request-ID', request.id);
  const status = fe.status;
  if (fe.code === 'CLIENT_GONE') {
    // Nobody is listening any more (upstream logs a 499 and writes nothing); the build goes on.
    request.log.info({ code: fe.code }, fe.message);
    return reply.code(status).send();
  }
  const message = options.redact ? options.redact(fe.message) : fe.message;
  if (!expected(status)) {
    request.log.error({ err: fe, cause: fe.cause, code: fe.code }, message);
  } else if (status >= 500) {
    request.log.warn({ code: fe.code, msg: message }, 'request refused');
  } else {
    request.log.info({ code: fe.code, msg: message }, 'request rejected');
  }
  for (const [k, v] of Object.entries(extraHeaders(fe))) reply.header(k, v);
  reply.code(status).header('X-Content-Type-Options', 'nosniff');
  if (isRegistryPath(request.url)) {
    // Registry clients read OCI error documents, whatever they Accept.
    const redacted = message === fe.message ? fe : new FactoryError(fe.code, message);
    return reply
      .header('Docker-Distribution-API-Version', 'registry/2.0')
      .type('application/json; charset=utf-8')
      .send(ociErrorDocument(redacted));
  }
  const { type, body } = renderBody(fe, message, wantsJson(request.headers.accept));
  return reply.type(type).send(body);
}

/** What {@link clientErrorHandler} needs to stamp its responses like every other one. */
export interface RawErrorContext {
  version: string;
  newRequestId: () => string;
  log: { info(o: object, m: string): void };
}

/** Translates a Node HTTP parser error (`clientError`) into a catalog error. */
export function clientErrorToFactoryError(err: NodeJS.ErrnoException): FactoryError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new FactoryError('HEADERS_TOO_LARGE', 'request header fields are too large', { cause: err });
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new FactoryError('REQUEST_TIMEOUT', 'request timeout', { cause: err });
    case 'HPE_URI_TOO_LONG':
      return new FactoryError('URI_TOO_LONG', 'URI too long', { cause: err });
    default:
      return new FactoryError('BAD_REQUEST', 'malformed HTTP request', { cause: err });
  }
}

/**
 * Node's `clientError` handler: requests the HTTP parser refused (oversized headers, timeouts,
 * garbage) get a catalog response written straight to the socket, then the connection is closed.
 */
export function clientErrorHandler(
  ctx: RawErrorContext,
): (err: NodeJS.ErrnoException, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    const fe = clientErrorToFactoryError(err);
    const id = ctx.newRequestId();
    ctx.log.info({ requestId: id, code: fe.code, msg: fe.message }, 'request rejected by the HTTP parser');
    const { type, body } = renderBody(fe, fe.message, false);
    const headers: Record<string, string> = {
      Server: `image-factory/${ctx.version}`,
      'X-Request-ID': id,
      'X-Content-Type-Options': 'nosniff',
      'Content-Type': type,
      'Content-Length': String(Buffer.byteLength(body)),
      Connection: 'close',
      ...extraHeaders(fe),
    };
    const head = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.end(`HTTP/1.1 ${fe.status} ${STATUS_CODES[fe.status] ?? 'Error'}\r\n${head}\r\n${body}`);
  };
}
