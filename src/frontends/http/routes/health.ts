/** Liveness and readiness probes. */
import type { FastifyInstance } from 'fastify';
import { FactoryError } from '../../../errors.js';

/** Registers `/healthz` (always 200) and `/readyz` (200 once `ready()` is true, else 503). */
export function registerHealthRoutes(app: FastifyInstance, ready: () => boolean): void {
  app.get('/healthz', async (_request, reply) => reply.code(200).send());
  app.get('/readyz', async (_request, reply) => {
    if (!ready()) throw new FactoryError('NOT_READY', 'not ready');
    return reply.code(200).send();
  });
}
