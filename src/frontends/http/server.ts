/**
 * The HTTP frontend: a Fastify app with request IDs, the Server header, CORS, body limits, the
 * routes, and the one error hook. Built from explicit dependencies; no globals.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { FactoryError } from '../../errors.js';
import type { SchematicService } from '../../storage/schematic-service.js';
import { registerCors } from './cors.js';
import { openApiDocument } from './openapi.js';
import { sendError } from './error-hook.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerSchematicRoutes } from './routes/schematics.js';

/** Everything the HTTP frontend needs. */
export interface HttpDeps {
  version: string;
  logLevel: string;
  bodyLimit: number;
  requestTimeoutMs: number;
  allowedOrigins: readonly string[];
  schematics: SchematicService;
  ready: () => boolean;
  /** Global hooks (metrics) added before any route, so they see every request. */
  hooks?: ReadonlyArray<(app: FastifyInstance) => void>;
  /** Extra route registrations (release, image, pxe frontends) added by the composition root. */
  routes?: ReadonlyArray<(app: FastifyInstance) => void>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Echo a sane client-supplied X-Request-ID, else generate a UUID. */
function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Builds the Fastify app (not listening yet). */
export function buildHttpApp(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    logger: { level: deps.logLevel },
    genReqId: requestId,
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    bodyLimit: deps.bodyLimit,
    requestTimeout: deps.requestTimeoutMs,
    return503OnClosing: true,
  });

  // Bodies are read raw whatever the Content-Type: schematics are YAML (JSON ⊂ YAML), like upstream.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (request, reply) => {
    reply.header('Server', `image-factory/${deps.version}`);
    reply.header('X-Request-ID', request.id);
  });
  registerCors(app, deps.allowedOrigins);
  for (const add of deps.hooks ?? []) add(app);

  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(new FactoryError('NOT_FOUND', '404 page not found'), request, reply),
  );

  const openapi = JSON.stringify(openApiDocument(deps.version));
  app.get('/openapi.json', async (_request, reply) => reply.type('application/json').send(openapi));
  registerHealthRoutes(app, deps.ready);
  registerSchematicRoutes(app, deps.schematics);
  for (const register of deps.routes ?? []) register(app);
  return app;
}
