/**
 * `GET|HEAD /image/:schematic/:version/:path` — boot assets, plus free `<path>.sha256` and
 * `<path>.sha512` checksum files. Order of checks follows upstream (spec §1.3.2) so the same error
 * wins: schematic → version syntax → path → version availability → build.
 */
import type { FastifyInstance } from 'fastify';
import type { AssetService } from '../../../assets/asset-service.js';
import { FactoryError } from '../../../errors.js';
import { contentTypeFor } from '../../../profile/content-type.js';
import { assetFilename, parseAssetPath, splitAssetSuffixes } from '../../../profile/path.js';
import { parseTalosVersion } from '../../../profile/version.js';
import type { ReleaseSource } from '../../../release/release-source.js';
import type { SchematicService } from '../../../storage/schematic-service.js';
import { checksumBody, deliverAsset } from '../deliver.js';
import { clientGoneSignal } from '../request-signal.js';

/** What the image route needs. */
export interface ImageRouteDeps {
  schematics: SchematicService;
  release: ReleaseSource;
  assets: AssetService;
}

/** Registers the image route. */
export function registerImageRoutes(app: FastifyInstance, deps: ImageRouteDeps): void {
  app.get<{ Params: { schematic: string; version: string; path: string }; Querystring: { filename?: string } }>(
    '/image/:schematic/:version/:path',
    async (request, reply) => {
      const { schematic, version, path } = request.params;
      const split = splitAssetSuffixes(path);
      if (split.signature) {
        throw new FactoryError('NOT_IMPLEMENTED', 'signature bundles are not available: this factory does not sign assets');
      }
      const loaded = await deps.schematics.load(schematic);
      const vtag = parseTalosVersion(version).tag;
      const req = parseAssetPath(split.path);
      await deps.release.requireVersion(vtag);
      const asset = await deps.assets.get(loaded, vtag, req, clientGoneSignal(request));
      const filename = assetFilename(split.path, request.query.filename);
      if (split.checksum) {
        const name = `${filename}.${split.checksum}`;
        return reply
          .type('text/plain; charset=utf-8')
          .header('Content-Disposition', `attachment; filename="${name.replace(/["\\\r\n]/g, '_')}"`)
          .send(checksumBody(asset, split.checksum, filename));
      }
      return deliverAsset(request, reply, asset, { contentType: contentTypeFor(split.path), filename });
    },
  );
}
