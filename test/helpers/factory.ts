/** Builds a whole factory over a temp data dir for in-process (inject) and loopback tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createFactory, type Factory, type FactoryOverrides } from '../../src/factory.js';

/** A factory plus its temp dir; `cleanup()` closes it and removes the dir. */
export interface TestFactory {
  factory: Factory;
  dataDir: string;
  cleanup(): Promise<void>;
}

type DeepPartialInput = { [K in keyof NonNullable<ConfigInput>]?: NonNullable<ConfigInput>[K] };

/** Creates a factory with silent logs, port 0 and a fresh data dir; `config` is merged on top. */
export async function makeTestFactory(
  config: DeepPartialInput = {},
  overrides: FactoryOverrides = {},
): Promise<TestFactory> {
  // A given data dir (e.g. on a small tmpfs) is used as it is, and removed by cleanup() too.
  const dataDir = config.dataDir ?? (await mkdtemp(join(tmpdir(), 'if-test-')));
  const cfg = validateConfig({
    ...config,
    dataDir,
    log: { level: 'silent', ...config.log },
    http: { listen: '127.0.0.1:0', ...config.http },
    // Metrics on (so every test exercises the hooks), on a free port: tests run side by side.
    metrics: { listen: '127.0.0.1:0', ...config.metrics },
  });
  const factory = await createFactory(cfg, overrides);
  return {
    factory,
    dataDir,
    async cleanup() {
      await factory.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
