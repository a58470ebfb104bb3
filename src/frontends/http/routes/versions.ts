/** Release metadata routes: `/versions`, `/version/:v/extensions/official`, `/version/:v/overlays/official`. */
import type { FastifyInstance } from 'fastify';
import type { ReleaseSource } from '../../../release/release-source.js';
import { goJson } from './schematics.js';

/** Registers the release metadata routes. */
export function registerVersionRoutes(app: FastifyInstance, release: ReleaseSource): void {
  app.get<{ Querystring: { broken?: string } }>('/versions', async (request, reply) => {
    const list = request.query.broken === 'true' ? release.brokenVersions() : await release.versions();
    return reply.type('application/json').send(goJson(list));
  });

  app.get<{ Params: { version: string } }>(
    '/version/:version/extensions/official',
    async (request, reply) => {
      const version = await release.requireVersion(request.params.version);
      const list = await release.extensionCatalog(version);
      return reply.type('application/json').send(goJson(list));
    },
  );

  app.get<{ Params: { version: string } }>('/version/:version/overlays/official', async (request, reply) => {
    const version = await release.requireVersion(request.params.version);
    const list = await release.overlayCatalog(version);
    return reply.type('application/json').send(goJson(list));
  });
}
