/** Shared set-up for tests that serve fixture releases: build (cached) fixtures, make a factory over them. */
import type { FactoryOverrides } from '../../src/factory.js';
import { buildFixtureReleases } from '../fixtures/build.js';
import type { FixtureManifest } from '../fixtures/manifest.js';
import { makeTestFactory, type TestFactory } from './factory.js';

let fixtures: Promise<FixtureManifest> | undefined;

/** Secure Boot configured with Debian's OVMF snakeoil pair (package ovmf; key password `snakeoil`). */
export const SNAKEOIL_SECURE_BOOT = {
  signingKeyPath: '/usr/share/ovmf/PkKek-1-snakeoil.key',
  signingCertPath: '/usr/share/ovmf/PkKek-1-snakeoil.pem',
  signingKeyPassword: 'snakeoil',
} as const;

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
