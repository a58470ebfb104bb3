/**
 * The HTTP frontend: a Fastify app with request IDs, the Server header, CORS, body limits, the
 * routes, and the one error hook. Built from explicit dependencies; no globals.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import { FactoryError } from '../../errors.js';
import type { SchematicService } from '../../storage/schematic-service.js';
import { registerCors } from './cors.js';
import { openApiDocument } from './openapi.js';
import { clientErrorHandler, sendError, type Redact } from './error-hook.js';
import { registerIdleTimeouts } from './idle-timeouts.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerSchematicRoutes } from './routes/schematics.js';

/** Everything the HTTP frontend needs. */
export interface HttpDeps {
  version: string;
  logLevel: string;
  /** Where JSON log lines go (default stdout). */
  logStream?: NodeJS.WritableStream;
  bodyLimit: number;
  requestTimeoutMs: number;
  /** Idle limits while a body arrives and while a response goes out (0 = none). */
  bodyIdleTimeoutMs?: number;
  responseIdleTimeoutMs?: number;
  /** Open connections at most (Node refuses more at accept). */
  maxConnections?: number;
  /** Removes server paths from error messages. */
  redact?: Redact;
  allowedOrigins: readonly string[];
  schematics: SchematicService;
  ready: () => boolean;
  /** Global hooks (metrics) added before any route, so they see every request. */
  hooks?: ReadonlyArray<(app: FastifyInstance) => void>;
  /** Extra route registrations (release, image, pxe frontends) added by the composition root. */
  routes?: ReadonlyArray<(app: FastifyInstance) => void>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Longest path segment the router hands to a route: the whole request line must fit Node's header
 * limit (16 KiB) anyway, so any segment that arrives reaches the path grammar and its own 400.
 */
const MAX_PARAM_LENGTH = 16 * 1024;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

/** Methods with a route for the request's path (for 405 and OPTIONS), or none. */
function allowedMethods(app: FastifyInstance, request: FastifyRequest): string[] {
  const path = request.url.split('?')[0] ?? '/';
  return METHODS.filter((m) => app.findRoute({ method: m, url: path }) !== null);
}

/** Echo a sane client-supplied X-Request-ID, else generate a UUID. */
function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Builds the Fastify app (not listening yet). */
export function buildHttpApp(deps: HttpDeps): FastifyInstance {
  const errorOptions = {
    server: `image-factory/${deps.version}`,
    ...(deps.redact ? { redact: deps.redact } : {}),
  };
  const app = Fastify({
    logger: { level: deps.logLevel, ...(deps.logStream ? { stream: deps.logStream } : {}) },
    genReqId: requestId,
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    bodyLimit: deps.bodyLimit,
    requestTimeout: deps.requestTimeoutMs,
    return503OnClosing: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Malformed URLs and router refusals go through the one error hook like everything else.
    frameworkErrors: (err, request, reply) => sendError(err, request, reply, errorOptions),
  });
  if (deps.maxConnections !== undefined) app.server.maxConnections = deps.maxConnections;
  // Requests the HTTP parser refuses (431, 408, garbage) never reach Fastify.
  const rawErrors = clientErrorHandler({
    version: deps.version,
    newRequestId: randomUUID,
    log: { info: (o, m) => app.log.info(o, m) },
  });
  app.server.removeAllListeners('clientError');
  app.server.on('clientError', rawErrors);

  // Bodies are read raw whatever the Content-Type: schematics are YAML (JSON ⊂ YAML), like upstream.
  // The header is replaced before Fastify looks at it, so even `;` or `ü/ü` cannot make a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (request, reply) => {
    reply.header('Server', `image-factory/${deps.version}`);
    reply.header('X-Request-ID', request.id);
    if (request.raw.headers['content-type'] !== undefined)
      request.raw.headers['content-type'] = 'application/octet-stream';
  });
  registerIdleTimeouts(app, {
    bodyIdleMs: deps.bodyIdleTimeoutMs ?? 0,
    responseIdleMs: deps.responseIdleTimeoutMs ?? 0,
  });
  registerCors(app, deps.allowedOrigins);
  for (const add of deps.hooks ?? []) add(app);

  app.setErrorHandler((err, request, reply) => sendError(err, request, reply, errorOptions));
  app.setNotFoundHandler(async (request, reply) => {
    const allowed = allowedMethods(app, request);
    if (allowed.length === 0)
      return sendError(new FactoryError('NOT_FOUND', '404 page not found'), request, reply, errorOptions);
    const allow = [...allowed, 'OPTIONS'].join(', ');
    // httprouter's automatic OPTIONS and 405 (spec §0): the route exists, the method does not.
    if (request.method === 'OPTIONS') return reply.code(204).header('Allow', allow).send();
    return sendError(
      new FactoryError('METHOD_NOT_ALLOWED', 'Method Not Allowed', { headers: { Allow: allow } }),
      request,
      reply,
      errorOptions,
    );
  });

  const openapi = JSON.stringify(openApiDocument(deps.version));
  app.get('/openapi.json', async (_request, reply) => reply.type('application/json').send(openapi));
  registerHealthRoutes(app, deps.ready);
  registerSchematicRoutes(app, deps.schematics);
  for (const register of deps.routes ?? []) register(app);
  return app;
}

/**
 * Closes `app`: in-flight requests finish within `graceMs`; connections still open after it (a
 * client that stopped reading a download) are cut, so shutdown never waits on a stalled peer.
 */
export async function closeHttpApp(app: FastifyInstance, graceMs: number): Promise<void> {
  const grace = setTimeout(() => app.server.closeAllConnections(), graceMs);
  try {
    await app.close();
  } finally {
    clearTimeout(grace);
  }
}
