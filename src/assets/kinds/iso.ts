/**
 * `<platform>-<arch>[-secureboot].iso`: bootable media carrying the kernel command line (no one
 * passes `-append`). Made from the cached `kernel` and `initramfs` assets, never rebuilding them;
 * the layout per version, arch, secure boot and bootloader comes from `profile/iso-variant.ts`.
 */
import { join } from 'node:path';
import { materializeAsset } from '../../cache/materialize.js';
import { FactoryError } from '../../errors.js';
import { buildGrubIso } from '../../builders/iso/grub-iso.js';
import { isoVolumeId, isoVolumeLabel } from '../../builders/iso/volume-label.js';
import { BUILD_EPOCH } from '../../builders/reproducible.js';
import { buildCmdline } from '../../profile/cmdline.js';
import { isoVariant } from '../../profile/iso-variant.js';
import type { AssetKindModule } from '../asset-kind.js';

/** The ISO kind. */
export const isoKind: AssetKindModule = {
  kind: 'iso',
  salt: 'iso-1',
  plan(ctx) {
    const { request: r, quirks } = ctx;
    const c = ctx.schematic.schematic.customization;
    const variant = isoVariant({ quirks, arch: r.arch, secureBoot: r.secureBoot, bootloader: c.bootloader });
    if (variant !== 'grub') {
      throw new FactoryError(
        'NOT_IMPLEMENTED',
        `${variant === 'sd-boot' ? 'systemd-boot' : 'dual-boot'} ISOs (Talos ${ctx.version}, ${r.arch}${r.secureBoot ? ', secure boot' : ''}) are not implemented yet`,
      );
    }
    const cmdline = buildCmdline({
      platform: r.platform,
      arch: r.arch,
      version: ctx.talos,
      kind: 'iso',
      secureBoot: r.secureBoot,
      meta: c.meta ?? [],
      extraArgs: c.extraKernelArgs ?? [],
    });
    const label = isoVolumeLabel(ctx.version);
    const volume = quirks.supportsISOLabel ? { id: isoVolumeId(label), setId: label } : undefined;
    const resetEntry = quirks.supportsResetGrubOption;
    const same = { arch: r.arch, platform: 'metal', secureBoot: false } as const;
    return Promise.resolve({
      key: { variant, cmdline, resetEntry, volume: volume ?? null, epoch: BUILD_EPOCH },
      deps: { kernel: { ...same, kind: 'kernel' }, initramfs: { ...same, kind: 'initramfs' } },
      async build(b) {
        const kernel = b.deps['kernel'];
        const initramfs = b.deps['initramfs'];
        if (!kernel || !initramfs) throw new FactoryError('INTERNAL', 'iso: dependencies missing');
        return buildGrubIso({
          kernel: await materializeAsset(kernel, join(b.workDir, 'vmlinuz'), b.signal),
          initramfs: await materializeAsset(initramfs, join(b.workDir, 'initramfs.xz'), b.signal),
          cmdline,
          resetEntry,
          ...(volume ? { volume } : {}),
          epoch: BUILD_EPOCH,
          workDir: b.workDir,
          output: join(b.workDir, 'out.iso'),
          signal: b.signal,
        });
      },
    });
  },
};
