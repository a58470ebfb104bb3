/**
 * Per-builder versions ("errata salt"), part of every cache key of that builder's assets. Bump a
 * builder's entry when a fix changes its output: exactly its cached entries become misses.
 */
export const BUILDER_SALT = {
  kernel: 'kernel-1',
  cmdline: 'cmdline-1',
  initramfs: 'initramfs-1',
} as const;
