/**
 * `GET /pxe/:schematic/:version/:path` — the iPXE script that boots kernel + initramfs (or the
 * secure-boot UKI) from this factory, with the generated kernel cmdline (spec §4).
 */
import type { FastifyInstance } from 'fastify';
import { lookupAsset, type LookupDeps } from '../../../assets/lookup.js';
import { parsePxePath, renderPxeScript } from '../../../profile/pxe.js';
import { clientGoneSignal } from '../request-signal.js';

/** What the PXE route needs. */
export interface PxeRouteDeps extends LookupDeps {
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
      const {
        asset,
        versionTag: vtag,
        request: req,
      } = await lookupAsset(deps, schematic, version, () => parsePxePath(path), clientGoneSignal(reply), {
        requireArch: true,
      });
      const cmdline = (await readAll(await asset.open())).toString('utf8');
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
