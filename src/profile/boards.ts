/**
 * SBC boards → overlays, as data (talos-imager §8, image-factory §3.1 and §3.3). The original
 * Image Service accepted a board segment in disk paths (`metal-rpi_generic-arm64.raw.xz`, Talos
 * 1.5 `talos.board` names); from Talos 1.7 boards are overlays, so such a path maps to
 * `metal-arm64.raw.xz` with the matching overlay (image repository under the release's
 * namespace, overlay name as the installer knows it). Below 1.7 there are no overlays and the
 * board code that 1.5 installers carried is not reproduced: {@link overlayForBoard} answers
 * `undefined` and callers refuse the path.
 */
import type { QuirkValues } from './quirks.js';

/** One board → overlay mapping. */
export interface BoardOverlay {
  /** Board name in 1.5-era paths / `talos.board`. */
  readonly board: string;
  /** Overlay image repository (under the configured namespace, e.g. `siderolabs/`). */
  readonly image: string;
  /** Overlay name (`overlay.name` in schematics). */
  readonly overlay: string;
}

const ALLWINNER = 'sbc-allwinner';
const ROCKCHIP = 'sbc-rockchip';
const RPI = 'sbc-raspberrypi';
const JETSON = 'sbc-jetson';

/** THE table: every 1.5 board plus the later SBC names the UI lists. */
export const BOARD_OVERLAYS: readonly BoardOverlay[] = [
  { board: 'rpi_generic', image: RPI, overlay: 'rpi_generic' },
  { board: 'rpi_5', image: RPI, overlay: 'rpi_5' },
  { board: 'revpi_generic', image: RPI, overlay: 'revpi_generic' },
  { board: 'bananapi_m64', image: ALLWINNER, overlay: 'bananapi_m64' },
  { board: 'libretech_all_h3_cc_h5', image: ALLWINNER, overlay: 'libretech_all_h3_cc_h5' },
  { board: 'pine64', image: ALLWINNER, overlay: 'pine64' },
  { board: 'jetson_nano', image: JETSON, overlay: 'jetson_nano' },
  { board: 'rock64', image: ROCKCHIP, overlay: 'rock64' },
  { board: 'rockpi_4', image: ROCKCHIP, overlay: 'rockpi4' },
  { board: 'rockpi_4c', image: ROCKCHIP, overlay: 'rockpi4c' },
  { board: 'nanopi_r4s', image: ROCKCHIP, overlay: 'nanopi-r4s' },
  { board: 'nanopi_r5s', image: ROCKCHIP, overlay: 'nanopi-r5s' },
  { board: 'orangepi_r1_plus_lts', image: ROCKCHIP, overlay: 'orangepi-r1-plus-lts' },
  { board: 'rock4cplus', image: ROCKCHIP, overlay: 'rock4cplus' },
  { board: 'rock4se', image: ROCKCHIP, overlay: 'rock4se' },
  { board: 'rock5a', image: ROCKCHIP, overlay: 'rock5a' },
  { board: 'rock5b', image: ROCKCHIP, overlay: 'rock5b' },
  { board: 'helios64', image: ROCKCHIP, overlay: 'helios64' },
  { board: 'turingrk1', image: ROCKCHIP, overlay: 'turingrk1' },
  { board: 'rockpro64', image: ROCKCHIP, overlay: 'rockpro64' },
  { board: 'odroid-m1', image: ROCKCHIP, overlay: 'odroid-m1' },
  { board: 'orangepi-5', image: ROCKCHIP, overlay: 'orangepi-5' },
  { board: 'orangepi-5-plus', image: ROCKCHIP, overlay: 'orangepi-5-plus' },
  { board: 'orangepi-5-max', image: ROCKCHIP, overlay: 'orangepi-5-max' },
  { board: 'radxa-zero-3e', image: ROCKCHIP, overlay: 'radxa-zero-3e' },
  { board: 'rock3b', image: ROCKCHIP, overlay: 'rock3b' },
  { board: 'rock5t', image: ROCKCHIP, overlay: 'rock5t' },
  { board: 'rock5b-plus', image: ROCKCHIP, overlay: 'rock5b-plus' },
  { board: 'friendlyelec-cm3588-nas', image: ROCKCHIP, overlay: 'friendlyelec-cm3588-nas' },
];

/** Old board aliases the 1.5 installer rewrote (`rpi_4` since v1.5.1). */
export const BOARD_ALIASES: Readonly<Record<string, string>> = { rpi_4: 'rpi_generic' };

/** The overlay a board path means for a target version (`undefined`: unknown board or no overlays yet). */
export function overlayForBoard(board: string, quirks: QuirkValues): BoardOverlay | undefined {
  if (!quirks.supportsOverlay) return undefined;
  const name = BOARD_ALIASES[board] ?? board;
  return BOARD_OVERLAYS.find((b) => b.board === name);
}

/** True for a board name (or alias) of {@link BOARD_OVERLAYS}. */
export function isKnownBoard(board: string): boolean {
  const name = BOARD_ALIASES[board] ?? board;
  return BOARD_OVERLAYS.some((b) => b.board === name);
}
