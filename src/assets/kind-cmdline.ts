/** The kernel cmdline every kind that boots derives from its plan context the same way. */
import type { AssetKind } from '../profile/asset-request.js';
import { buildCmdline } from '../profile/cmdline.js';
import type { PlanContext } from './asset-kind.js';

/**
 * The cmdline of `ctx.request` as booted from `kind` (an ISO's, a UKI medium's, a disk image's):
 * the schematic's META and extra args, plus an overlay installer's args where there is one.
 */
export function cmdlineFor(ctx: PlanContext, kind: AssetKind, overlayArgs?: readonly string[]): string {
  const c = ctx.schematic.schematic.customization;
  return buildCmdline({
    platform: ctx.request.platform,
    arch: ctx.request.arch,
    version: ctx.talos,
    kind,
    secureBoot: ctx.request.secureBoot,
    meta: c.meta ?? [],
    extraArgs: c.extraKernelArgs ?? [],
    ...(overlayArgs ? { overlayArgs } : {}),
  });
}
