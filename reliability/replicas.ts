/** Placeholder. */
import type { FixtureManifest } from '../src/demo/manifest.js';
import type { RunContext } from './lib/context.js';
import { Rows } from './lib/report.js';

/** Placeholder. */
export async function runReplicas(_ctx: RunContext, _fx: FixtureManifest): Promise<Rows> {
  return new Rows('replicas');
}
