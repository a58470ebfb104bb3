/** The Fastify hook for metrics: request duration per route (pattern, not path) and status. */
import type { FastifyInstance } from 'fastify';
import type { FactoryMetrics } from './metrics.js';

/** Adds the metrics hook to `app` (a global hook: add it before the routes). */
export function registerHttpMetrics(app: FastifyInstance, metrics: FactoryMetrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
