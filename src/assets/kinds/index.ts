/** THE registry of asset kinds: a kind that is not listed here answers 501 (not implemented). */
import type { AssetKind } from '../../profile/asset-request.js';
import type { AssetKindModule } from '../asset-kind.js';
import { cmdlineKind } from './cmdline.js';
import { imageKind } from './image.js';
import { initramfsKind } from './initramfs.js';
import { isoKind } from './iso.js';
import { installerKind } from './installer.js';
import { kernelKind } from './kernel.js';
import { ukiKind } from './uki.js';

/** Every implemented kind, by name. */
export const ASSET_KIND_MODULES: Partial<Readonly<Record<AssetKind, AssetKindModule>>> = {
  kernel: kernelKind,
  cmdline: cmdlineKind,
  initramfs: initramfsKind,
  iso: isoKind,
  installer: installerKind,
  uki: ukiKind,
  image: imageKind,
};
