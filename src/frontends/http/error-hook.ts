/**
 * The one place where errors become HTTP responses. FactoryError codes map to statuses through
 * ERROR_CATALOG; framework errors (body too large, bad media type) are translated to catalog codes
 * first. Bodies are `text/plain` (message + newline, as Go's http.Error writes and existing clients
 * expect) unless the client asks for JSON; on `/v2` paths they are OCI error documents.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { FactoryError, type ErrorCode } from '../../errors.js';
import { isRegistryPath, ociErrorDocument } from './oci-error.js';

const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'SCHEMATIC_INVALID',
};

/** Translates anything thrown by a handler or the framework into a FactoryError. */
export function asFactoryError(err: unknown): FactoryError {
  if (err instanceof FactoryError) return err;
  const fe = err as Partial<FastifyError>;
  const mapped = fe.code ? FRAMEWORK_CODES[fe.code] : undefined;
  if (mapped === 'BODY_TOO_LARGE')
    return new FactoryError(mapped, 'request body is too large', { cause: err });
  if (mapped) return new FactoryError(mapped, fe.message ?? 'bad request', { cause: err });
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new FactoryError('BAD_REQUEST', fe.message ?? 'bad request', { cause: err });
  }
  return new FactoryError('INTERNAL', 'internal server error', { cause: err });
}

/** True when the client prefers a JSON error document. */
function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return /\bapplication\/(problem\+)?json\b/i.test(accept);
}

/** Sends `err` as the response, logging server-side failures with their cause. */
export function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const fe = asFactoryError(err);
  const status = fe.status;
  if (fe.code === 'CLIENT_GONE') {
    // Nobody is listening any more (upstream logs a 499 and writes nothing); the build goes on.
    request.log.info({ code: fe.code }, fe.message);
    return reply.code(status).send();
  }
  if (status >= 500) request.log.error({ err: fe, cause: fe.cause, code: fe.code }, fe.message);
  else request.log.info({ code: fe.code, msg: fe.message }, 'request rejected');
  for (const [k, v] of Object.entries(fe.headers)) reply.header(k, v);
  reply.code(status).header('X-Content-Type-Options', 'nosniff');
  if (isRegistryPath(request.url)) {
    // Registry clients read OCI error documents, whatever they Accept.
    return reply
      .header('Docker-Distribution-API-Version', 'registry/2.0')
      .type('application/json; charset=utf-8')
      .send(ociErrorDocument(fe));
  }
  if (wantsJson(request)) {
    return reply
      .type('application/json; charset=utf-8')
      .send(JSON.stringify({ code: fe.code, message: fe.message }) + '\n');
  }
  return reply.type('text/plain; charset=utf-8').send(`${fe.message}\n`);
}
