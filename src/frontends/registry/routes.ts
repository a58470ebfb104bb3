/**
 * The read-only OCI distribution endpoint on the factory's listener (image-factory §5): `/v2/`
 * ping; manifests, blobs and tag lists of `<image>/<schematic>` installer repositories and of the
 * proxied `siderolabs/<component>` release repositories; the cosign public key. Every write method
 * under `/v2` is `405 UNSUPPORTED`. Errors go through the one error hook, which answers `/v2`
 * paths with OCI error documents.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FactoryError } from '../../errors.js';
import type { Delivery } from '../http/deliver.js';
import { isRegistryPath } from '../http/oci-error.js';
import { clientGoneSignal } from '../http/request-signal.js';
import type { InstallerImages, RegistryAnswer } from './installer-images.js';
import { SOURCE_NAMESPACE, type SourceProxy } from './source-proxy.js';

/** What the registry routes need. */
export interface RegistryRouteDeps {
  readonly installers: InstallerImages;
  readonly proxy: SourceProxy;
  /** PEM of the signing key's public half. */
  readonly publicKeyPem: string;
  /** Sends blobs (ranges, conditional requests, X-Accel-Redirect behind nginx). */
  readonly delivery: Delivery;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

type Params = { ns: string; name: string };

function sendManifest(
  request: FastifyRequest,
  reply: FastifyReply,
  m: { bytes: Buffer; digest: string; mediaType: string },
): FastifyReply {
  reply
    .code(200)
    .header('Content-Type', m.mediaType)
    .header('Docker-Content-Digest', m.digest)
    .header('ETag', `"${m.digest}"`)
    .header('Content-Length', String(m.bytes.length));
  return reply.send(request.method === 'HEAD' ? undefined : m.bytes);
}

async function sendAnswer(
  request: FastifyRequest,
  reply: FastifyReply,
  a: RegistryAnswer,
  delivery: Delivery,
): Promise<FastifyReply> {
  if (a.kind === 'redirect') return reply.code(307).header('Location', a.location).send();
  if (a.kind === 'manifest') return sendManifest(request, reply, a);
  reply.header('Docker-Content-Digest', a.digest);
  return delivery.send(request, reply, a.asset, { contentType: 'application/octet-stream' });
}

/** `?n=&last=` pagination of a tag list (distribution spec), with a `Link` to the next page. */
function paginate(
  reply: FastifyReply,
  path: string,
  tags: readonly string[],
  query: { n?: string; last?: string },
): string[] {
  const start = query.last === undefined ? 0 : tags.indexOf(query.last) + 1;
  const n = query.n === undefined ? undefined : Number(query.n);
  if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) {
    throw new FactoryError(
      'BAD_REQUEST',
      `tags/list: n must be a non-negative integer, got ${JSON.stringify(query.n)}`,
    );
  }
  const page = tags.slice(start, n === undefined ? undefined : start + n);
  if (n !== undefined && start + n < tags.length && page.length > 0) {
    reply.header('Link', `<${path}?n=${n}&last=${encodeURIComponent(page.at(-1)!)}>; rel="next"`);
  }
  return page;
}

/** Registers the registry routes (and the read-only guard for `/v2`). */
export function registerRegistryRoutes(app: FastifyInstance, deps: RegistryRouteDeps): void {
  // A hook, not routes: it also covers `/v2` paths no route matches (upload sessions, deletes).
  app.addHook('onRequest', async (request, reply) => {
    if (!isRegistryPath(request.url)) return;
    reply.header('Docker-Distribution-API-Version', 'registry/2.0');
    if (!READ_METHODS.has(request.method)) {
      throw new FactoryError(
        'METHOD_NOT_ALLOWED',
        `this registry is read-only: ${request.method} is not supported (installer images are built on pull)`,
      );
    }
  });

  const ping = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.type('application/json').send('{}');
  app.get('/v2/', ping);
  app.get('/v2', ping);

  app.route<{ Params: Params & { reference: string } }>({
    // HEAD explicitly: it must announce the manifest's real Content-Length.
    method: ['GET', 'HEAD'],
    url: '/v2/:ns/:name/manifests/:reference',
    handler: async (request, reply) => {
      const { ns, name, reference } = request.params;
      const signal = clientGoneSignal(reply);
      if (ns === SOURCE_NAMESPACE)
        return sendManifest(request, reply, await deps.proxy.manifest(name, reference, signal));
      return sendAnswer(
        request,
        reply,
        await deps.installers.manifest(ns, name, reference, signal),
        deps.delivery,
      );
    },
  });

  app.route<{ Params: Params & { digest: string } }>({
    method: ['GET', 'HEAD'],
    url: '/v2/:ns/:name/blobs/:digest',
    handler: async (request, reply) => {
      const { ns, name, digest } = request.params;
      const signal = clientGoneSignal(reply);
      if (ns === SOURCE_NAMESPACE) {
        return sendAnswer(
          request,
          reply,
          { kind: 'blob', digest, asset: await deps.proxy.blob(name, digest, signal) },
          deps.delivery,
        );
      }
      return sendAnswer(request, reply, await deps.installers.blob(ns, name, digest, signal), deps.delivery);
    },
  });

  app.get<{ Params: Params; Querystring: { n?: string; last?: string } }>(
    '/v2/:ns/:name/tags/list',
    async (request, reply) => {
      const { ns, name } = request.params;
      const listing =
        ns === SOURCE_NAMESPACE
          ? { name: `${ns}/${name}`, tags: await deps.proxy.tags(name, clientGoneSignal(reply)) }
          : await deps.installers.tags(ns, name);
      const tags = paginate(reply, `/v2/${ns}/${name}/tags/list`, listing.tags, request.query);
      return reply.type('application/json').send(JSON.stringify({ name: listing.name, tags }));
    },
  );

  app.get('/oci/cosign/signing-key.pub', async (_request, reply) =>
    reply.type('application/x-pem-file').send(deps.publicKeyPem),
  );
}
