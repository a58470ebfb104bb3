/**
 * The schematic's overlay (SBC support, Talos ≥ 1.7), pinned through the version's overlay
 * catalog: the image repository and digest that decide the bytes, and the options as the imager
 * marshals them. A name/image pair the catalog does not have is the user's 400.
 */
import { FactoryError } from '../errors.js';
import { overlayForBoard } from '../profile/boards.js';
import { emitYaml, go } from '../schematic/goyaml/index.js';
import { yamlMapToGo } from '../schematic/yaml-value.js';
import type { PlanContext } from './asset-kind.js';
import { raceAbort } from './build-runner.js';

/** A pinned overlay. */
export interface PinnedOverlay {
  readonly name: string;
  /** Repository path of the overlay image (e.g. `siderolabs/sbc-raspberrypi`). */
  readonly image: string;
  readonly digest: string;
  /** go-yaml Marshal of `overlay.options` (`{}` when none), as the imager passes them on. */
  readonly extraOptions: string;
}

/**
 * The schematic's overlay pinned for the plan's version — or, for a 1.5-era board path
 * (`metal-<board>-arm64.raw.xz`) and a schematic without one, the board's overlay — or undefined.
 */
export async function resolveOverlay(ctx: PlanContext): Promise<PinnedOverlay | undefined> {
  const board = ctx.request.kind === 'image' ? ctx.request.image.board : undefined;
  let overlay = ctx.schematic.schematic.overlay;
  if (overlay === undefined && board !== undefined) {
    const mapped = overlayForBoard(board, ctx.quirks);
    if (!mapped) {
      throw new FactoryError(
        'PROFILE_INVALID',
        `error enhancing profile from schematic: board ${board} needs an overlay, which Talos version ${ctx.version} does not support`,
      );
    }
    overlay = { image: `siderolabs/${mapped.image}`, name: mapped.overlay };
  }
  if (overlay === undefined) return undefined;
  const catalog = await raceAbort(ctx.release.overlayCatalog(ctx.version), ctx.signal);
  const entry = catalog.find((o) => o.name === overlay.name && o.image === overlay.image);
  if (!entry) {
    throw new FactoryError(
      'OVERLAY_UNAVAILABLE',
      `overlay "${overlay.name}" (${overlay.image}) is not available for Talos version ${ctx.version}`,
    );
  }
  return {
    name: overlay.name,
    image: entry.image,
    digest: entry.digest,
    extraOptions: emitYaml(overlay.options ? yamlMapToGo(overlay.options) : go.map([])),
  };
}
