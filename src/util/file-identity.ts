/** A cheap identity of a file's current content, for re-verifying cached bytes. */
import type { Stats } from 'node:fs';

/**
 * Size, modification and change times, inode and device: an in-place write, a truncation or a
 * replacement of the file changes at least one of them.
 */
export function fileIdentity(st: Stats): string {
  return `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}:${st.dev}`;
}
