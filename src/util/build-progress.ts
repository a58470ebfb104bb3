/**
 * The current build step, reported from deep inside builders (every external tool run names its
 * step) to whoever runs the build, without threading a callback through every builder: an
 * AsyncLocalStorage is a context channel (like a diagnostics channel), it holds no state of its
 * own — each build installs its own reporter for the duration of its async call tree.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<(step: string) => void>();

/** Runs `fn` with `report` receiving every step announced below it. */
export function withBuildProgress<T>(report: (step: string) => void, fn: () => Promise<T>): Promise<T> {
  return current.run(report, fn);
}

/** Announces the step the current build is at (no-op outside a build). */
export function reportBuildStep(step: string): void {
  current.getStore()?.(step);
}
