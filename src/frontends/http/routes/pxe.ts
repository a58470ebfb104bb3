/**
 * `GET /pxe/:schematic/:version/:path` — the iPXE script that boots kernel + initramfs (or the
 * secure-boot UKI) from this factory, with the generated kernel cmdline (spec §4).
 */
import type { FastifyInstance } from 'fastify';
import type { AssetService } from '../../../assets/asset-service.js';
import { parsePxePath, renderPxeScript } from '../../../profile/pxe.js';
import { parseTalosVersion } from '../../../profile/version.js';
import type { ReleaseSource } from '../../../release/release-source.js';
import type { SchematicService } from '../../../storage/schematic-service.js';
import { clientGoneSignal } from '../request-signal.js';

/** What the PXE route needs. */
export interface PxeRouteDeps {
  schematics: SchematicService;
  release: ReleaseSource;
  assets: AssetService;
  /** Base of the URLs in the script (externalPXEURL, else externalURL). */
  baseUrl: string;
  /** Add `initrd=<name>` to the kernel line so UEFI iPXE builds without LoadFile2 boot too. */
  uefiInitrdArg: boolean;
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Registers the PXE route. */
export function registerPxeRoutes(app: FastifyInstance, deps: PxeRouteDeps): void {
  app.get<{ Params: { schematic: string; version: string; path: string } }>(
    '/pxe/:schematic/:version/:path',
    async (request, reply) => {
      const { schematic, version, path } = request.params;
      const loaded = await deps.schematics.load(schematic);
      const vtag = parseTalosVersion(version).tag;
      const req = parsePxePath(path);
      await deps.release.requireVersion(vtag);
      const cmdlineAsset = await deps.assets.get(loaded, vtag, req, clientGoneSignal(request));
      const cmdline = (await readAll(await cmdlineAsset.open())).toString('utf8');
      const script = renderPxeScript({
        baseUrl: deps.baseUrl,
        schematicId: schematic,
        versionTag: vtag,
        request: req,
        cmdline,
        uefiInitrdArg: deps.uefiInitrdArg,
      });
      return reply.type('text/plain; charset=utf-8').send(script);
    },
  );
}
