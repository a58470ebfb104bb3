/**
 * CORS as the upstream factory configures rs/cors (spec §1.4): allowed origins from config
 * (default `*`), methods GET/HEAD/OPTIONS (+POST for the API), request header `Cache-Control`,
 * exposed `Content-Disposition, Content-Length, Content-Type`; preflights answered here with 204.
 * Beyond upstream: browsers may send the conditional and range headers downloads use, and read
 * `Content-Range`; with an origin allowlist every response says `Vary: Origin` (responses are
 * `public, immutable`: a shared cache must not hand one origin's answer to another).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const ALLOWED_METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST'];
const ALLOWED_HEADERS = [
  'cache-control',
  'content-type',
  'accept',
  'x-request-id',
  'range',
  'if-none-match',
  'if-range',
  'if-match',
];
const EXPOSED =
  'Content-Disposition, Content-Length, Content-Type, Content-Range, Accept-Ranges, ETag, Retry-After, X-Request-ID';

function originAllowed(origin: string, allowed: readonly string[]): string | undefined {
  if (allowed.includes('*')) return '*';
  return allowed.includes(origin) ? origin : undefined;
}

/** Registers CORS handling on `app`. */
export function registerCors(app: FastifyInstance, allowedOrigins: readonly string[]): void {
  const allowlist = !allowedOrigins.includes('*');
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // The answer depends on Origin whenever origins are told apart, also when this one sent none.
    if (allowlist) reply.header('Vary', 'Origin');
    const origin = request.headers.origin;
    if (!origin) return;
    const allow = originAllowed(origin, allowedOrigins);
    if (!allow) return;
    reply.header('Access-Control-Allow-Origin', allow);
    const preflightMethod = request.headers['access-control-request-method'];
    if (request.method === 'OPTIONS' && typeof preflightMethod === 'string') {
      const method = preflightMethod.toUpperCase();
      if (ALLOWED_METHODS.includes(method)) reply.header('Access-Control-Allow-Methods', method);
      const reqHeaders = request.headers['access-control-request-headers'];
      if (typeof reqHeaders === 'string') {
        const ok = reqHeaders
          .split(',')
          .map((h) => h.trim().toLowerCase())
          .filter((h) => ALLOWED_HEADERS.includes(h));
        if (ok.length > 0) reply.header('Access-Control-Allow-Headers', ok.join(', '));
      }
      reply.header('Vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
      await reply.code(204).send();
      return reply;
    }
    reply.header('Access-Control-Expose-Headers', EXPOSED);
    return;
  });
}
