/**
 * Schematic routes: `POST /schematics` (Image Factory), `POST /flavor` (the original Image Service
 * API, same IDs and storage) and `GET /schematics/:id` (canonical YAML).
 */
import type { FastifyInstance } from 'fastify';
import type { SchematicService } from '../../../storage/schematic-service.js';

/** Go's JSON encoder escapes <, > and & (and U+2028/2029); clients comparing bytes expect the same. */
export function goJson(value: unknown): string {
  return (
    JSON.stringify(value)
      .replace(/</g, '\\u003c')
      .replace(/>/g, '\\u003e')
      .replace(/&/g, '\\u0026')
      .replace(/\u2028/g, '\\u2028')
      .replace(/\u2029/g, '\\u2029') + '\n'
  );
}

function bodyOf(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.alloc(0);
}

/** Registers the schematic routes. */
export function registerSchematicRoutes(app: FastifyInstance, schematics: SchematicService): void {
  app.post('/schematics', async (request, reply) => {
    const { id, canonical } = await schematics.create(bodyOf(request.body));
    return reply
      .code(201)
      .type('application/json')
      .send(goJson({ id, schematic: canonical }));
  });

  app.post('/flavor', async (request, reply) => {
    const { id } = await schematics.create(bodyOf(request.body));
    return reply.code(201).type('application/json').send(goJson({ id }));
  });

  app.get<{ Params: { id: string } }>('/schematics/:id', async (request, reply) => {
    const { canonical } = await schematics.load(request.params.id);
    return reply.type('application/yaml').send(canonical);
  });
}
