/**
 * How the appended archive is compressed. The compressor is the era's (xz before Talos 1.8, zstd
 * from 1.8; the kernel decodes any zstd level and any xz preset with CRC32); the level is a
 * choice. The imager's `zstd -18` and `xz -0e` spend almost all of a large build re-compressing
 * squashfs layers and firmware that do not get smaller (README, Benchmarks), so the default is
 * a level measured to give nearly the same size in a fraction of the time.
 */

/** Appendix compression levels, per era. */
export interface AppendixCompression {
  /** zstd level 1–19 (Talos ≥ 1.8). */
  readonly zstdLevel: number;
  /** xz preset `0`–`9`, optionally extreme (`0e`) (Talos < 1.8). */
  readonly xzPreset: string;
}

/** The imager's own flags (talos-imager §2.5): `zstd -T0 -18`, `xz -0 -e`. */
export const IMAGER_APPENDIX_COMPRESSION: AppendixCompression = { zstdLevel: 18, xzPreset: '0e' };

/** The factory's default (measured, README Benchmarks). */
export const DEFAULT_APPENDIX_COMPRESSION: AppendixCompression = { zstdLevel: 3, xzPreset: '0' };
