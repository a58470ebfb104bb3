/** depmod wrapper (talos-imager §2.3 step 4). */
import { type ToolOptions, runTool } from './run.js';

/** The config the imager passes: prefer modules under `extras/` over the built-in tree. */
export const DEPMOD_CONFIG = 'search extras built-in\n';

/** Options for {@link depmod}. */
export interface DepmodOptions extends ToolOptions {
  /** Directory that contains `lib/modules/<kver>`. */
  basedir: string;
  /** Path of a depmod config file (see {@link DEPMOD_CONFIG}). */
  config: string;
  kernelVersion: string;
}

/** Regenerates `modules.*` for one kernel version under `basedir`. */
export async function depmod(o: DepmodOptions): Promise<void> {
  await runTool(
    o.command ?? 'depmod',
    ['--all', '--basedir', o.basedir, '--config', o.config, o.kernelVersion],
    o,
  );
}
