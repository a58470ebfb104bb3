/**
 * The current build step, reported from deep inside builders (every external tool run names its
 * step) to whoever runs the build, without threading a callback through every builder: an
 * AsyncLocalStorage is a context channel (like a diagnostics channel), it holds no state of its
 * own — each build installs its own reporter for the duration of its async call tree.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

interface Reporter {
  step(step: string): void;
  reused?: (what: string) => void;
}

const current = new AsyncLocalStorage<Reporter>();

/**
 * Runs `fn` with `report` receiving every step announced below it, and `reused` every build
 * intermediate that came from the cache instead of being built.
 */
export function withBuildProgress<T>(
  report: (step: string) => void,
  fn: () => Promise<T>,
  reused?: (what: string) => void,
): Promise<T> {
  return current.run(reused ? { step: report, reused } : { step: report }, fn);
}

/** Announces the step the current build is at (no-op outside a build). */
export function reportBuildStep(step: string): void {
  current.getStore()?.step(step);
}

/** Announces that the current build reused a cached intermediate (`squashfs siderolabs/x`). */
export function reportBuildReuse(what: string): void {
  const r = current.getStore();
  r?.step(`reuse ${what}`);
  r?.reused?.(what);
}
