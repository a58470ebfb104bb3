/**
 * `cmdline-<platform>-<arch>[-secureboot]`: the kernel command line as text (talos-imager §3).
 * A `-secureboot` one needs Secure Boot configured, like every secure-boot asset (upstream rejects
 * the profile at build time, image-factory §2.5): the PXE script is made from it and chains the
 * signed UKI, which this factory could not build.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cmdlineFor } from '../kind-cmdline.js';
import type { AssetKindModule } from '../asset-kind.js';
import { requireSecureBoot } from '../secure-boot.js';

/** The cmdline kind. */
export const cmdlineKind: AssetKindModule = {
  kind: 'cmdline',
  salt: 'cmdline-1',
  plan(ctx) {
    if (ctx.request.secureBoot) requireSecureBoot(ctx.settings);
    const text = cmdlineFor(ctx, ctx.request.kind);
    return Promise.resolve({
      // Keyed by the text itself: identical cmdlines share one entry whatever produced them.
      key: { text },
      light: true,
      async build(b) {
        const out = join(b.workDir, 'cmdline');
        await writeFile(out, text);
        return out;
      },
    });
  },
};
