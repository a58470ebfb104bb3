/**
 * `installer-<arch>[-secureboot].tar`, `<platform>-installer-<arch>[-secureboot].tar`: the installer
 * image as a `docker load` archive (talos-imager §7.2), made from the release's base installer
 * (`installer` before Talos 1.10, `installer-base` from 1.10) and other assets: the kernel and
 * initramfs assets, or — Talos ≥ 1.10 or secure boot — the UKI asset plus systemd-boot; with an
 * overlay, a third layer from the overlay image the version's catalog pins.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayerEntry, LayerFileSource } from '../../builders/installer/artifacts-layer.js';
import { overlayLayerEntries } from '../../builders/installer/overlay-layer.js';
import { buildInstallerArchive } from '../../builders/installer/build.js';
import type { CachedAsset } from '../../cache/asset-cache.js';
import { FactoryError } from '../../errors.js';
import type { AssetRequest } from '../../profile/asset-request.js';
import { installerArtifacts, installerImageName } from '../../profile/installer-image.js';
import { extractLayers } from '../../release/extract.js';
import type { AssetKindModule } from '../asset-kind.js';
import { resolveOverlay } from '../overlay.js';
import { raceAbort } from '../build-runner.js';
import { requireSecureBoot } from '../secure-boot.js';
import { systemdBootFor } from '../systemd-boot.js';

function assetFile(name: string, asset: CachedAsset | undefined): LayerFileSource {
  if (!asset) throw new FactoryError('INTERNAL', `installer: dependency for ${name} was not built`);
  return { name, size: asset.size, open: () => asset.open() };
}

async function localFile(name: string, path: string): Promise<LayerFileSource> {
  const { size } = await stat(path);
  return { name, size, open: () => Promise.resolve(createReadStream(path, { highWaterMark: 1 << 20 })) };
}

/** The installer kind. */
export const installerKind: AssetKindModule = {
  kind: 'installer',
  salt: 'installer-1',
  async plan(ctx) {
    const { arch, secureBoot, platform } = ctx.request;
    const overlay = await resolveOverlay(ctx);
    const layout = installerArtifacts(arch, secureBoot, ctx.quirks);
    const repository = ctx.release.component(
      ctx.quirks.supportsUnifiedInstaller ? 'installerBase' : 'installer',
    );
    // Shared by every request for the version (detached); each waiter may leave.
    const base = await raceAbort(ctx.release.pinImage(repository, ctx.version, arch), ctx.signal);
    // `docker load` names the image as this factory's registry would serve it.
    const host = new URL(ctx.settings.schematicExtension.externalURL).host;
    const repoTags = [
      `${host}/${installerImageName(platform, secureBoot)}/${ctx.schematic.id}:${ctx.version}`,
    ];
    const metal = (kind: 'kernel' | 'initramfs'): AssetRequest => ({
      kind,
      platform: 'metal',
      arch,
      secureBoot: false,
    });
    const deps: Record<string, AssetRequest> =
      layout.era === 'kernel'
        ? { kernel: metal('kernel'), initramfs: metal('initramfs') }
        : { uki: { kind: 'uki', platform, arch, secureBoot, purpose: 'installer' } };
    const signing = secureBoot ? requireSecureBoot(ctx.settings) : undefined;
    return {
      key: {
        arch,
        version: ctx.version,
        base: { repository, digest: base },
        layout,
        repoTags,
        // systemd-boot comes from the pinned imager in the UKI era (signed with this key for SB).
        ...(layout.era === 'uki'
          ? { imager: await ctx.imagerDigest(), signing: signing?.fingerprint ?? null }
          : {}),
        ...(overlay ? { overlay } : {}),
      },
      deps,
      async build(b) {
        const image = await ctx.release.pullImage(repository, base, arch, b.signal);
        const config = await ctx.release.imageConfig(image, b.signal);
        let artifacts: LayerFileSource[];
        if (layout.era === 'kernel') {
          artifacts = [
            assetFile(layout.kernel, b.deps.kernel),
            assetFile(layout.initramfs, b.deps.initramfs),
          ];
        } else {
          const sdBoot = await systemdBootFor(await b.inputs(), signing, b.workDir, b.signal);
          artifacts = [assetFile(layout.uki, b.deps.uki), await localFile(layout.systemdBoot, sdBoot)];
        }
        let overlayEntries: LayerEntry[] | undefined;
        if (overlay) {
          const pulled = await ctx.release.pullImage(overlay.image, overlay.digest, arch, b.signal);
          const root = join(b.workDir, 'overlay');
          await extractLayers(pulled.layers, root);
          overlayEntries = await overlayLayerEntries({
            root,
            name: overlay.name,
            extraOptions: overlay.extraOptions,
            what: `${overlay.image}@${overlay.digest}`,
          });
        }
        return buildInstallerArchive({
          base: {
            what: `${image.repository}@${image.digest}`,
            config,
            layers: image.layers.map((l, i) => ({ path: l.path, descriptor: image.manifest.layers[i]! })),
          },
          arch,
          quirks: ctx.quirks,
          artifacts,
          repoTags,
          ...(overlayEntries ? { overlay: overlayEntries } : {}),
          workDir: join(b.workDir, 'installer'),
          signal: b.signal,
        });
      },
    };
  },
};
