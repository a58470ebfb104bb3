/**
 * `GET|HEAD /image/:schematic/:version/:path` — boot assets, plus free `<path>.sha256` and
 * `<path>.sha512` checksum files. Order of checks follows upstream (spec §1.3.2) so the same error
 * wins: schematic → version syntax → path → version availability → build.
 */
import type { FastifyInstance } from 'fastify';
import { lookupAsset, type LookupDeps } from '../../../assets/lookup.js';
import { FactoryError } from '../../../errors.js';
import { contentDisposition, contentTypeFor } from '../../../profile/content-type.js';
import { assetFilename, parseAssetPath, splitAssetSuffixes } from '../../../profile/path.js';
import { checksumBody, type Delivery } from '../deliver.js';
import { clientGoneSignal } from '../request-signal.js';

/** What the image route needs. */
export type ImageRouteDeps = LookupDeps & { readonly delivery: Delivery };

/** Registers the image route. */
export function registerImageRoutes(app: FastifyInstance, deps: ImageRouteDeps): void {
  app.route<{
    Params: { schematic: string; version: string; path: string };
    Querystring: { filename?: string | string[] };
  }>({
    // HEAD is registered explicitly: Fastify's implicit HEAD route rewrites an empty body's
    // Content-Length to 0, and a HEAD must announce the asset's full length.
    method: ['GET', 'HEAD'],
    url: '/image/:schematic/:version/:path',
    handler: async (request, reply) => {
      const { schematic, version, path } = request.params;
      const split = splitAssetSuffixes(path);
      if (split.signature) {
        throw new FactoryError(
          'NOT_IMPLEMENTED',
          'signature bundles are not available: this factory does not sign assets',
        );
      }
      const { asset } = await lookupAsset(
        deps,
        schematic,
        version,
        () => parseAssetPath(split.path),
        clientGoneSignal(reply),
      );
      // A repeated parameter arrives as an array; like Go's Query().Get, the first one counts.
      const override = request.query.filename;
      const filename = assetFilename(split.path, Array.isArray(override) ? override[0] : override);
      if (split.checksum) {
        const name = `${filename}.${split.checksum}`;
        return reply
          .type('text/plain; charset=utf-8')
          .header('Content-Disposition', contentDisposition(name))
          .send(checksumBody(asset, split.checksum, filename));
      }
      return deps.delivery.send(request, reply, asset, { contentType: contentTypeFor(split.path), filename });
    },
  });
}
