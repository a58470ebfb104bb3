/** Shared set-up for tests that serve fixture releases: build (cached) fixtures, make a factory over them. */
import type { SecureBootProvider } from '../../src/assets/secure-boot.js';
import type { FactoryOverrides } from '../../src/factory.js';
import { buildFixtureReleases } from '../fixtures/build.js';
import type { FixtureManifest } from '../fixtures/manifest.js';
import { makeTestFactory, type TestFactory } from './factory.js';

let fixtures: Promise<FixtureManifest> | undefined;

/** A stand-in Secure Boot provider: lets tests reach the Secure Boot paths (scripts, cmdlines). */
export const TEST_SECURE_BOOT: SecureBootProvider = { description: 'test stand-in (no keys)' };

/** The default fixture set (built once per process; cached on disk across runs). */
export function fixtureReleases(): Promise<FixtureManifest> {
  fixtures ??= buildFixtureReleases({ log: (l) => process.stderr.write(`[fixtures] ${l}\n`) });
  return fixtures;
}

/** A factory reading release inputs from the fixture OCI layouts. */
export async function makeFixtureFactory(
  config: Parameters<typeof makeTestFactory>[0] = {},
  overrides: FactoryOverrides = {},
): Promise<{ t: TestFactory; fixtures: FixtureManifest }> {
  const fx = await fixtureReleases();
  const t = await makeTestFactory(
    { ...config, artifacts: { source: 'oci-layout', layoutDir: fx.root, ...config.artifacts } },
    overrides,
  );
  return { t, fixtures: fx };
}
