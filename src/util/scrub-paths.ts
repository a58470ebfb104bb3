/**
 * Removes server paths from text meant for clients (tool stderr in build errors): every
 * occurrence of a known root directory is replaced by a short label, so `…/work/321/build-x/a`
 * reads `<build>/a`. Longer roots are replaced first (a build dir lies inside the data dir).
 */

/** A directory and the label that stands for it. */
export interface ScrubRoot {
  readonly dir: string;
  readonly label: string;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `text` with every root directory (as a path prefix) replaced by its label. */
export function scrubPaths(text: string, roots: readonly ScrubRoot[]): string {
  let out = text;
  const sorted = roots.filter((r) => r.dir.length > 1).sort((a, b) => b.dir.length - a.dir.length);
  for (const { dir, label } of sorted) {
    const trimmed = dir.replace(/\/+$/, '');
    out = out.replace(new RegExp(`${escape(trimmed)}(?=/|\\b|$)`, 'g'), label);
  }
  return out;
}
