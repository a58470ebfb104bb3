/** Builds a whole factory over a temp data dir for in-process (inject) and loopback tests. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createFactory, type Factory, type FactoryOverrides } from '../../src/factory.js';
import { CACHE_DIR } from './paths.js';

let factories = 0;

/** A factory plus its temp dir; `cleanup()` closes it and removes the dir. */
export interface TestFactory {
  factory: Factory;
  dataDir: string;
  cleanup(): Promise<void>;
}

type DeepPartialInput = { [K in keyof NonNullable<ConfigInput>]?: NonNullable<ConfigInput>[K] };

/**
 * Creates a factory on port 0 with a fresh data dir; `config` is merged on top. Unless the test
 * asks for a log level (and stream), warnings and errors go to a file under the test cache
 * (`factory-logs/`): when a test sees "500 internal error", the cause is there, not lost.
 */
export async function makeTestFactory(
  config: DeepPartialInput = {},
  overrides: FactoryOverrides = {},
): Promise<TestFactory> {
  // A given data dir (e.g. on a small tmpfs) is used as it is, and removed by cleanup() too.
  const dataDir = config.dataDir ?? (await mkdtemp(join(tmpdir(), 'if-test-')));
  let logFile: WriteStream | undefined;
  if (!config.log && !overrides.logStream) {
    await mkdir(join(CACHE_DIR, 'factory-logs'), { recursive: true });
    logFile = createWriteStream(join(CACHE_DIR, 'factory-logs', `${process.pid}-${++factories}.log`));
  }
  let factory: Factory;
  try {
    const cfg = validateConfig({
      ...config,
      dataDir,
      log: { level: config.log ? 'silent' : 'warn', ...config.log },
      http: { listen: '127.0.0.1:0', ...config.http },
      // Metrics on (so every test exercises the hooks), on a free port: tests run side by side.
      metrics: { listen: '127.0.0.1:0', ...config.metrics },
    });
    factory = await createFactory(cfg, logFile ? { ...overrides, logStream: logFile } : overrides);
  } catch (e) {
    // A refused start-up (the tests of config errors) leaves nothing behind either.
    if (config.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    await new Promise<void>((r) => (logFile ? logFile.end(r) : r()));
    throw e;
  }
  return {
    factory,
    dataDir,
    async cleanup() {
      await factory.close();
      await rm(dataDir, { recursive: true, force: true });
      await new Promise<void>((r) => (logFile ? logFile.end(r) : r()));
    },
  };
}
