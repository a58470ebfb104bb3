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
import { adjustedDiskSizeMiB, chooseBootloader } from '../../builders/disk/layouts.js';
import { BUILD_EPOCH } from '../../builders/reproducible.js';
import type { CachedAsset } from '../../cache/asset-cache.js';
import { materializeAsset } from '../../cache/materialize.js';
import { FactoryError } from '../../errors.js';
import type { AssetRequest } from '../../profile/asset-request.js';
import { buildCmdline } from '../../profile/cmdline.js';
import type { AssetKindModule, BuildContext } from '../asset-kind.js';
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
    if (s.overlay !== undefined) {
      throw new FactoryError('NOT_IMPLEMENTED', 'disk images with an overlay are not implemented yet');
    }
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
    const cmdline = buildCmdline({
      platform: r.platform,
      arch: r.arch,
      version: ctx.talos,
      kind: 'image',
      secureBoot: r.secureBoot,
      meta: c.meta ?? [],
      extraArgs: c.extraKernelArgs ?? [],
    });
    const diskSizeMiB = adjustedDiskSizeMiB(r.image.diskSizeMiB, bootloader, ctx.quirks);
    const usesGrub = bootloader !== 'sd-boot';
    const usesSdBoot = bootloader !== 'grub';
    const mode = usesSdBoot && r.secureBoot ? enrollMode(s, true) : undefined;
    const metal = { arch: r.arch, platform: 'metal', secureBoot: false } as const;
    const deps: Record<string, AssetRequest> = {
      ...(usesGrub
        ? { kernel: { ...metal, kind: 'kernel' }, initramfs: { ...metal, kind: 'initramfs' } }
        : {}),
      ...(usesSdBoot
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
        const files = async () => {
          if (!usesSdBoot) return {};
          const sdBoot = await systemdBootFor(await b.inputs(), signing, b.workDir, b.signal);
          const uki = await materializeAsset(dep(b, 'uki'), join(b.workDir, 'uki.efi'), b.signal);
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
        const grub = usesGrub
          ? {
              kernel: await materializeAsset(dep(b, 'kernel'), join(b.workDir, 'vmlinuz'), b.signal),
              initramfs: await materializeAsset(
                dep(b, 'initramfs'),
                join(b.workDir, 'initramfs.xz'),
                b.signal,
              ),
            }
          : {};
        const output = join(b.workDir, 'disk.out');
        await buildDiskImage({
          version: ctx.version,
          arch: r.arch,
          secureBoot: r.secureBoot,
          ...(c.bootloader !== undefined ? { bootloader: c.bootloader } : {}),
          diskSizeMiB,
          sectorSize,
          cmdline,
          ...grub,
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
