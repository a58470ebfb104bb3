/**
 * Disk images (`metal-amd64.raw.xz`, `aws-amd64.raw.xz`, `gcp-amd64.raw.tar.gz`, `*.qcow2`,
 * `*.vhd`, `*.ova`, …): built without root, loop devices or mounts (talos-imager §6.2, the
 * Talos ≥ 1.13 procedure, for every version), from the cached kernel + initramfs (GRUB) and the
 * UKI built for an image (systemd-boot); META values go into the META partition, not the cmdline.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildDiskImage } from '../../builders/disk/build-disk-image.js';
import type { EnrollKeys } from '../../builders/disk/esp.js';
import { requireGrubDir } from '../../builders/disk/grub-images.js';
import { adjustedDiskSizeMiB, chooseBootloader } from '../../builders/disk/layouts.js';
import { BUILD_EPOCH } from '../../builders/reproducible.js';
import type { CachedAsset } from '../../cache/asset-cache.js';
import { materializeAsset } from '../../cache/materialize.js';
import { FactoryError } from '../../errors.js';
import type { AssetRequest } from '../../profile/asset-request.js';
import { cmdlineFor } from '../kind-cmdline.js';
import {
  overlayGetOptions,
  overlayInstall,
  type OverlaySource,
} from '../../builders/disk/overlay-installer.js';
import { buildUki } from '../../builders/uki/build.js';
import type { ReleaseInputs } from '../../release/release-source.js';
import { extractLayers } from '../../release/extract.js';
import type { SecureBootMaterial } from '../../secureboot/material.js';
import type { AssetKindModule, BuildContext, PlanContext } from '../asset-kind.js';
import { resolveOverlay, type PinnedOverlay } from '../overlay.js';
import { enrollmentAuthFiles, enrollMode } from '../enrollment.js';
import { requireSecureBoot } from '../secure-boot.js';
import { systemdBootFor } from '../systemd-boot.js';

function dep(b: BuildContext, name: string): CachedAsset {
  const d = b.deps[name];
  if (!d) throw new FactoryError('INTERNAL', `disk image: dependency ${name} missing`);
  return d;
}

/** The disk image kind. */
export const imageKind: AssetKindModule = {
  kind: 'image',
  salt: 'image-1',
  async plan(ctx) {
    const r = ctx.request;
    if (r.kind !== 'image') throw new FactoryError('INTERNAL', 'image kind: not a disk image request');
    const s = ctx.schematic.schematic;
    const c = s.customization;
    const overlay = await resolveOverlay(ctx);
    const signing = r.secureBoot ? requireSecureBoot(ctx.settings) : undefined;
    const bootloader = chooseBootloader({
      ...(c.bootloader !== undefined ? { requested: c.bootloader } : {}),
      arch: r.arch,
      secureBoot: r.secureBoot,
      quirks: ctx.quirks,
    });
    const sectorSize = c.diskImage?.sectorSize ?? 512;
    if (sectorSize !== 512 && sectorSize !== 4096) {
      throw new FactoryError(
        'PROFILE_INVALID',
        `error enhancing profile from schematic: diskImage.sectorSize ${sectorSize} is not supported (512 or 4096)`,
      );
    }
    const cmdlineWith = (overlayArgs: readonly string[]) => cmdlineFor(ctx, 'image', overlayArgs);
    // With an overlay, its installer's `get-options` adds kernel args, so the cmdline (and any
    // UKI, built inline then) is known only at build time; the pinned overlay stands for it here.
    const cmdline = cmdlineWith([]);
    const diskSizeMiB = adjustedDiskSizeMiB(r.image.diskSizeMiB, bootloader, ctx.quirks);
    const usesGrub = bootloader !== 'sd-boot';
    const usesSdBoot = bootloader !== 'grub';
    // Debian's amd64 archive has no arm64-efi GRUB modules: say so at plan time (501 naming the
    // config key), as the ISO does, so the status route and the wizard know before any build.
    if (usesGrub && r.arch === 'arm64') await requireGrubDir('arm64-efi', ctx.settings.grubDirs);
    const mode = usesSdBoot && r.secureBoot ? enrollMode(s, true) : undefined;
    const metal = { arch: r.arch, platform: 'metal', secureBoot: false } as const;
    const deps: Record<string, AssetRequest> = {
      // GRUB boots them; an overlay image's UKI is assembled from them inline.
      ...(usesGrub || overlay
        ? { kernel: { ...metal, kind: 'kernel' }, initramfs: { ...metal, kind: 'initramfs' } }
        : {}),
      ...(usesSdBoot && !overlay
        ? {
            uki: {
              kind: 'uki',
              platform: r.platform,
              arch: r.arch,
              secureBoot: r.secureBoot,
              purpose: 'image',
            } as AssetRequest,
          }
        : {}),
    };
    return {
      key: {
        arch: r.arch,
        platform: r.platform,
        version: ctx.version,
        secureBoot: r.secureBoot,
        bootloader,
        sectorSize,
        diskSizeMiB,
        format: r.image.diskFormat,
        formatOptions: r.image.formatOptions,
        compression: r.image.compression,
        cmdline,
        meta: c.meta ?? [],
        epoch: BUILD_EPOCH,
        ...(overlay ? { overlay, stub: usesSdBoot ? await ctx.imagerDigest() : null } : {}),
        ...(usesSdBoot
          ? {
              imager: await ctx.imagerDigest(),
              signing: signing?.fingerprint ?? null,
              enrollMode: mode ?? null,
              includeWellKnown: c.secureboot?.includeWellKnownCertificates === true,
            }
          : {}),
      },
      deps,
      async build(b) {
        // The kernel and initramfs as files, where GRUB or an overlay's inline UKI needs them.
        const bootFiles =
          usesGrub || overlay
            ? {
                kernel: await materializeAsset(dep(b, 'kernel'), join(b.workDir, 'vmlinuz'), b.signal),
                initramfs: await materializeAsset(
                  dep(b, 'initramfs'),
                  join(b.workDir, 'initramfs.xz'),
                  b.signal,
                ),
              }
            : undefined;
        const board = overlay ? await prepareOverlay(ctx, overlay, b) : undefined;
        const finalCmdline = board ? cmdlineWith(board.options.kernelArgs) : cmdline;
        const files = async () => {
          if (!usesSdBoot) return {};
          const inputs = await b.inputs();
          const sdBoot = await systemdBootFor(inputs, signing, b.workDir, b.signal);
          const uki =
            board && bootFiles
              ? await inlineUki(ctx, {
                  inputs,
                  ...bootFiles,
                  cmdline: finalCmdline,
                  signing,
                  workDir: b.workDir,
                  signal: b.signal,
                })
              : await materializeAsset(dep(b, 'uki'), join(b.workDir, 'uki.efi'), b.signal);
          let enroll: EnrollKeys | undefined;
          if (signing && mode !== undefined) {
            const auth = await enrollmentAuthFiles(signing, s, BUILD_EPOCH);
            const write = async (n: string, data: Buffer) => {
              const p = join(b.workDir, `${n}.auth`);
              await writeFile(p, data);
              return p;
            };
            enroll = {
              mode,
              pk: await write('PK', auth.PK),
              kek: await write('KEK', auth.KEK),
              db: await write('db', auth.db),
            };
          }
          return { sdBoot, uki, ...(enroll ? { enroll } : {}) };
        };
        const grub = usesGrub && bootFiles ? bootFiles : {};
        const output = join(b.workDir, 'disk.out');
        await buildDiskImage({
          version: ctx.version,
          arch: r.arch,
          secureBoot: r.secureBoot,
          ...(c.bootloader !== undefined ? { bootloader: c.bootloader } : {}),
          diskSizeMiB,
          sectorSize,
          cmdline: finalCmdline,
          ...grub,
          ...(board
            ? {
                skipLBAs: board.options.partitionOffset,
                beforeFilesystems: ({ rawPath, table }) =>
                  overlayInstall(board.source, {
                    installDisk: rawPath,
                    table,
                    scratchDir: join(b.workDir, 'overlay-install'),
                    signal: b.signal,
                  }),
              }
            : {}),
          ...(await files()),
          meta: c.meta ?? [],
          ...(ctx.settings.grubDirs ? { grubDirs: ctx.settings.grubDirs } : {}),
          sourceDateEpoch: BUILD_EPOCH,
          format: r.image.diskFormat,
          formatOptions: r.image.formatOptions,
          compression: r.image.compression,
          output,
          scratchDir: b.workDir,
          // Tools would randomise some IDs (VHD); derive them from what selects the asset.
          uniqueIdSeed: `${ctx.schematic.id}/${ctx.version}/${r.platform}-${r.arch}`,
          signal: b.signal,
        });
        return output;
      },
    };
  },
};

/** Pulls and unpacks the pinned overlay image and asks its installer for options. */
async function prepareOverlay(ctx: PlanContext, overlay: PinnedOverlay, b: BuildContext) {
  const image = await ctx.release.pullImage(overlay.image, overlay.digest, ctx.request.arch, b.signal);
  const root = join(b.workDir, 'overlay');
  await extractLayers(image.layers, root);
  const source: OverlaySource = {
    root,
    name: overlay.name,
    ...(ctx.schematic.schematic.overlay?.options ? { options: ctx.schematic.schematic.overlay.options } : {}),
  };
  const options = await overlayGetOptions(source, join(b.workDir, 'overlay-options'), undefined, b.signal);
  return { source, options };
}

/** A UKI for an overlay image, whose cmdline carries the overlay's kernel args. */
async function inlineUki(
  ctx: PlanContext,
  o: {
    inputs: ReleaseInputs;
    kernel: string;
    initramfs: string;
    cmdline: string;
    signing: SecureBootMaterial | undefined;
    workDir: string;
    signal: AbortSignal;
  },
): Promise<string> {
  if (!o.inputs.systemdStub) {
    throw new FactoryError(
      'UPSTREAM_UNAVAILABLE',
      `imager ${ctx.version} has no usr/install/${ctx.request.arch}/systemd-stub.efi: it cannot make UKIs`,
    );
  }
  const out = join(o.workDir, 'uki.efi');
  await buildUki(
    {
      stubPath: o.inputs.systemdStub,
      stubWhat: `systemd-stub.efi of ${ctx.version} ${ctx.request.arch}`,
      arch: ctx.request.arch,
      kernelPath: o.kernel,
      initrdPath: o.initramfs,
      cmdline: o.cmdline,
      version: ctx.version,
      quirks: ctx.quirks,
      medium: 'image',
      sourceDateEpoch: BUILD_EPOCH,
      ...(o.signing ? { signing: { signer: o.signing.signer, pcrKey: o.signing.pcrKey } } : {}),
      tmpDir: o.workDir,
      signal: o.signal,
    },
    out,
  );
  return out;
}
