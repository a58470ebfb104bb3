/** `kernel-<arch>`: the release's kernel as it is (talos-imager §0, kind `kernel`). */
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AssetKindModule } from '../asset-kind.js';

/** The kernel kind. */
export const kernelKind: AssetKindModule = {
  kind: 'kernel',
  salt: 'kernel-1',
  async plan(ctx) {
    return {
      // Keyed by the pinned imager manifest: one entry per release and arch, whatever the schematic.
      key: { arch: ctx.request.arch, imager: await ctx.imagerDigest() },
      light: true,
      async build(b) {
        const out = join(b.workDir, 'vmlinuz');
        await copyFile((await b.inputs()).kernel, out);
        return out;
      },
    };
  },
};
