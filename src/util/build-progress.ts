/**
 * The current build step, reported from deep inside builders (every external tool run names its
 * step) to whoever runs the build, without threading a callback through every builder: the
 * reporter is attached to the build's AbortSignal, which every builder already passes down to
 * every tool. (An AsyncLocalStorage would do the same but, on Node 20, taxes every promise of the
 * process once used.) The WeakMap holds nothing once a build's signal is gone.
 */

const reporters = new WeakMap<AbortSignal, (step: string) => void>();
const reuseReporters = new WeakMap<AbortSignal, (what: string) => void>();

/**
 * Makes `report` receive every step announced with `signal` (the build's own signal), and
 * `reused` every build intermediate taken from the cache instead of being built.
 */
export function attachBuildProgress(
  signal: AbortSignal,
  report: (step: string) => void,
  reused?: (what: string) => void,
): void {
  reporters.set(signal, report);
  if (reused) reuseReporters.set(signal, reused);
}

/** Announces the step the build owning `signal` is at (no-op outside a build). */
export function reportBuildStep(step: string, signal: AbortSignal | undefined): void {
  if (signal) reporters.get(signal)?.(step);
}

/** Announces that the build owning `signal` reused a cached intermediate (`squashfs siderolabs/x`). */
export function reportBuildReuse(what: string, signal: AbortSignal | undefined): void {
  if (!signal) return;
  reporters.get(signal)?.(`reuse ${what}`);
  reuseReporters.get(signal)?.(what);
}
