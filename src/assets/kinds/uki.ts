/**
 * `<platform>-<arch>[-secureboot]-uki.efi`: a Unified Kernel Image on the release's systemd stub
 * (talos-imager §5), made from the cached `kernel` and `initramfs` assets. Signed (Authenticode,
 * `.pcrpkey`, `.pcrsig`) for `-secureboot`, unsigned otherwise. Built for another medium
 * (`purpose`), it carries that medium's command line and reset profile.
 */
import { join } from 'node:path';
import { buildUki } from '../../builders/uki/build.js';
import type { UkiMedium } from '../../builders/uki/sections.js';
import { BUILD_EPOCH } from '../../builders/reproducible.js';
import { materializeAsset } from '../../cache/materialize.js';
import { FactoryError } from '../../errors.js';
import { cmdlineFor } from '../kind-cmdline.js';
import type { AssetKindModule, PlanContext } from '../asset-kind.js';
import { requireSecureBoot } from '../secure-boot.js';

/** The UKI kind. */
export const ukiKind: AssetKindModule = {
  kind: 'uki',
  salt: 'uki-1',
  async plan(ctx: PlanContext) {
    const r = ctx.request;
    if (!ctx.quirks.supportsUKI) {
      throw new FactoryError(
        'PROFILE_INVALID',
        `error enhancing profile from schematic: UKIs are not supported for Talos version ${ctx.version}`,
      );
    }
    const secureBoot = r.secureBoot ? requireSecureBoot(ctx.settings) : undefined;
    const medium: UkiMedium = r.purpose ?? 'uki';
    const cmdline = cmdlineFor(ctx, medium);
    const same = { arch: r.arch, platform: 'metal', secureBoot: false } as const;
    return {
      key: {
        arch: r.arch,
        medium,
        cmdline,
        // `.osrel` and the section plan follow the version; the stub is pinned by the imager.
        version: ctx.version,
        imager: await ctx.imagerDigest(),
        signing: secureBoot?.fingerprint ?? null,
        epoch: BUILD_EPOCH,
      },
      deps: { kernel: { ...same, kind: 'kernel' }, initramfs: { ...same, kind: 'initramfs' } },
      async build(b) {
        const inputs = await b.inputs();
        const stubWhat = `systemd-stub.efi of ${ctx.version} ${r.arch}`;
        if (!inputs.systemdStub) {
          throw new FactoryError(
            'UPSTREAM_UNAVAILABLE',
            `imager ${ctx.version} has no usr/install/${r.arch}/systemd-stub.efi: it cannot make UKIs`,
          );
        }
        const kernel = b.deps['kernel'];
        const initramfs = b.deps['initramfs'];
        if (!kernel || !initramfs) throw new FactoryError('INTERNAL', 'uki: dependencies missing');
        const out = join(b.workDir, 'uki.efi');
        await buildUki(
          {
            stubPath: inputs.systemdStub,
            stubWhat,
            arch: r.arch,
            kernelPath: await materializeAsset(kernel, join(b.workDir, 'vmlinuz'), b.signal),
            initrdPath: await materializeAsset(initramfs, join(b.workDir, 'initramfs.xz'), b.signal),
            cmdline,
            version: ctx.version,
            quirks: ctx.quirks,
            medium,
            sourceDateEpoch: BUILD_EPOCH,
            ...(secureBoot ? { signing: { signer: secureBoot.signer, pcrKey: secureBoot.pcrKey } } : {}),
            tmpDir: b.workDir,
            signal: b.signal,
          },
          out,
        );
        return out;
      },
    };
  },
};
