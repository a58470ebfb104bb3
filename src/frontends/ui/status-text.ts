/**
 * How the final page words a build status (`GET /status/…` JSON). The server renders the state
 * at page time with these functions (so the page says something true without JavaScript);
 * `static/wizard.js` words the live updates the same way — keep the two in step (the browser
 * test reads both).
 */
import type { StatusBody } from '../http/routes/status.js';

/** `1.5 MiB`-style sizes (binary units, one decimal from KiB up). */
export function formatBytes(n: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (n < 1024) return `${n} B`;
  let v = n;
  let unit = 'B';
  for (const u of units) {
    if (v < 1024) break;
    v /= 1024;
    unit = u;
  }
  return `${v.toFixed(1)} ${unit}`;
}

/** `42 s`, `3 min 5 s`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/**
 * The one-line text of a status (a live region: it changes only when the state, step or position
 * does; the elapsed time of a build is shown beside it, see {@link elapsedText}).
 */
export function statusText(s: StatusBody): string {
  const first = 'dependency' in s && s.dependency ? ` (its ${s.dependency} first)` : '';
  switch (s.state) {
    case 'ready':
      return `Ready · ${formatBytes(s.size)}`;
    case 'idle':
      return 'Not built yet';
    case 'queued':
      return `Queued${s.position > 0 ? ` (position ${s.position})` : ''}${first}`;
    case 'building':
      return `Building${first}${s.step ? `: ${s.step}` : ''}`;
    case 'failed':
      return `Failed${first}: ${s.message}`;
  }
}

/** ` · 12 s` for a build under way, else nothing. */
export function elapsedText(s: StatusBody): string {
  return s.state === 'building' ? ` · ${formatElapsed(s.elapsedMs)}` : '';
}
