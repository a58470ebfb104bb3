/**
 * `<platform>-<arch>[-secureboot].iso`: bootable media carrying the kernel command line (no one
 * passes `-append`). Made from other cached assets, never rebuilding them — the kernel and
 * initramfs (GRUB), the UKI built for an ISO (systemd-boot) — with the layout per version, arch,
 * secure boot and bootloader from `profile/iso-variant.ts` (talos-imager §4).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { requireGrubDir } from '../../builders/disk/grub-images.js';
import { buildGrubIso } from '../../builders/iso/grub-iso.js';
import { buildDualBootIso, buildSdBootIso } from '../../builders/iso/uefi-iso.js';
import type { UefiIsoParts } from '../../builders/iso/uefi-tree.js';
import { isoVolumeId, isoVolumeLabel } from '../../builders/iso/volume-label.js';
import { BUILD_EPOCH } from '../../builders/reproducible.js';
import type { CachedAsset } from '../../cache/asset-cache.js';
import { materializeAsset } from '../../cache/materialize.js';
import { FactoryError } from '../../errors.js';
import type { AssetRequest } from '../../profile/asset-request.js';
import { cmdlineFor } from '../kind-cmdline.js';
import { isoVariant } from '../../profile/iso-variant.js';
import type { AssetKindModule, BuildContext } from '../asset-kind.js';
import { enrollmentAuthFiles, enrollMode } from '../enrollment.js';
import { requireSecureBoot } from '../secure-boot.js';
import { systemdBootFor } from '../systemd-boot.js';

function dep(b: BuildContext, name: string): CachedAsset {
  const d = b.deps[name];
  if (!d) throw new FactoryError('INTERNAL', `iso: dependency ${name} missing`);
  return d;
}

/** The ISO kind. */
export const isoKind: AssetKindModule = {
  kind: 'iso',
  salt: 'iso-2',
  async plan(ctx) {
    const { request: r, quirks } = ctx;
    const s = ctx.schematic.schematic;
    const c = s.customization;
    const variant = isoVariant({ quirks, arch: r.arch, secureBoot: r.secureBoot, bootloader: c.bootloader });
    const signing = r.secureBoot ? requireSecureBoot(ctx.settings) : undefined;
    const cmdline = cmdlineFor(ctx, 'iso');
    const label = isoVolumeLabel(ctx.version);
    const volume = quirks.supportsISOLabel ? { id: isoVolumeId(label), setId: label } : undefined;
    const resetEntry = quirks.supportsResetGrubOption;
    const metal = { arch: r.arch, platform: 'metal', secureBoot: false } as const;
    const grubDeps: Record<string, AssetRequest> = {
      kernel: { ...metal, kind: 'kernel' },
      initramfs: { ...metal, kind: 'initramfs' },
    };
    const ukiDep: Record<string, AssetRequest> = {
      uki: { kind: 'uki', platform: r.platform, arch: r.arch, secureBoot: r.secureBoot, purpose: 'iso' },
    };
    const mode = variant === 'grub' ? undefined : enrollMode(s, r.secureBoot);
    // amd64 GRUB ISOs take every platform GRUB has (BIOS + x86_64 EFI); arm64 its EFI modules only.
    const grubDirectory =
      variant === 'grub' && r.arch === 'arm64'
        ? await requireGrubDir('arm64-efi', ctx.settings.grubDirs)
        : undefined;
    const includeWellKnown = c.secureboot?.includeWellKnownCertificates === true;
    return {
      key: {
        variant,
        cmdline,
        resetEntry,
        volume: volume ?? null,
        epoch: BUILD_EPOCH,
        ...(variant === 'grub'
          ? {}
          : {
              enrollMode: mode,
              includeWellKnown,
              // systemd-boot comes from the pinned imager (signed with this key for Secure Boot).
              imager: await ctx.imagerDigest(),
              signing: signing?.fingerprint ?? null,
            }),
      },
      deps: variant === 'grub' ? grubDeps : variant === 'sd-boot' ? ukiDep : { ...grubDeps, ...ukiDep },
      async build(b) {
        const output = join(b.workDir, 'out.iso');
        const common = {
          ...(volume ? { volume } : {}),
          epoch: BUILD_EPOCH,
          workDir: b.workDir,
          output,
          signal: b.signal,
        };
        const grubFiles = async () => ({
          kernel: await materializeAsset(dep(b, 'kernel'), join(b.workDir, 'vmlinuz'), b.signal),
          initramfs: await materializeAsset(dep(b, 'initramfs'), join(b.workDir, 'initramfs.xz'), b.signal),
        });
        if (variant === 'grub') {
          return buildGrubIso({
            ...(await grubFiles()),
            cmdline,
            resetEntry,
            ...(grubDirectory ? { grubDirectory } : {}),
            ...common,
          });
        }

        const inputs = await b.inputs();
        const sdBoot = await systemdBootFor(inputs, signing, b.workDir, b.signal);
        const uki = await materializeAsset(dep(b, 'uki'), join(b.workDir, 'uki.efi'), b.signal);
        const parts: UefiIsoParts = {
          arch: r.arch,
          version: ctx.version,
          uki: { path: uki, size: (await stat(uki)).size },
          sdBoot: { path: sdBoot, size: (await stat(sdBoot)).size },
          enrollMode: mode ?? 'off',
          ...(signing
            ? {
                secureBoot: {
                  certificateDer: signing.signer.certificateDer,
                  auth: await enrollmentAuthFiles(signing, s, BUILD_EPOCH),
                },
              }
            : {}),
        };
        if (variant === 'sd-boot') return buildSdBootIso({ parts, ...common });
        return buildDualBootIso({
          parts,
          ...(await grubFiles()),
          cmdline,
          resetEntry,
          biosGrubDirectory: await requireGrubDir('i386-pc', ctx.settings.grubDirs),
          ...common,
        });
      },
    };
  },
};
