/**
 * The `node` flags the factory runs with, and a check that the running process got them.
 *
 * Why: V8 sizes the young generation by the allocation rate, from 1 MiB semi-spaces up to its
 * ceiling (16 MiB each on 64-bit, 32 MiB committed) and back down when the load eases. A build
 * allocates fast, so RSS rose and fell by up to ~30 MiB with the build rate: in the reliability
 * soak RSS climbed 1.12–1.24× between minute 2 and the end while the V8 heap in use, Buffers,
 * malloc's live bytes (heaptrack: a 9.7 MiB floor throughout) and descriptors stayed flat; the
 * young generation went 4 → 32 MiB over the same minutes. Pinned (min = max), the young generation
 * costs from the start what it costs under load, and RSS moves only with what is really kept.
 * Heap sizing is fixed when V8 starts, so only a launcher can set it: `scripts/start.sh` asks
 * `image-factory node-flags`, and `serve` warns when the process runs without them.
 */
import type { Config } from '../config/schema.js';

/** The V8 flags for `config` (none when `runtime.semiSpaceMiB` is 0). */
export function nodeFlagsFor(config: Pick<Config, 'runtime'>): string[] {
  const mib = config.runtime.semiSpaceMiB;
  return mib === 0 ? [] : [`--min-semi-space-size=${mib}`, `--max-semi-space-size=${mib}`];
}

/**
 * What is missing from `execArgv` (the process's own node flags) for `config`, as a warning
 * naming the command that starts it right; undefined when nothing is.
 */
export function missingNodeFlags(
  config: Pick<Config, 'runtime'>,
  execArgv: readonly string[] = process.execArgv,
): string | undefined {
  const wanted = nodeFlagsFor(config);
  const missing = wanted.filter((f) => !execArgv.includes(f));
  if (missing.length === 0) return undefined;
  return (
    `runtime.semiSpaceMiB is ${config.runtime.semiSpaceMiB} but node was started without ${missing.join(' ')}: ` +
    'V8 resizes the young generation with the load, so RSS moves by up to ~30 MiB. ' +
    'Start it with `node $(image-factory node-flags) …` (npm start does), or set runtime.semiSpaceMiB to 0.'
  );
}
