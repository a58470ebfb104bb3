/** Runs the factory as its own process (like production), so the load generator does not share its event loop. */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFlagsFor } from '../../src/cli/node-flags.js';
import { validateConfig } from '../../src/config/load.js';
import { freePort } from './nginx.js';
import { stopChild, waitForHttp } from './child.js';

/** A factory process listening on loopback. */
export interface FactoryProcess {
  url: string;
  port: number;
  pid: number;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** SIGTERM and wait (graceful shutdown). */
  stop(): Promise<void>;
  /** SIGKILL and wait: a crash, no shutdown code runs. */
  kill(): Promise<void>;
}

/** Options of {@link startFactoryProcess}. */
export interface FactoryProcessOptions {
  /** Listen port (default: a free one). A restarted factory reuses its predecessor's. */
  port?: number;
  /** Extra `node` flags before the script (`--cpu-prof`, `--max-old-space-size=…`). */
  nodeArgs?: readonly string[];
  /** Extra `serve` flags (`--config FILE`). */
  args?: readonly string[];
  /** Append the process's stdout (JSON log lines) and stderr to this file instead of dropping them. */
  logFile?: string;
  /** How long to wait for /healthz (default 10 s). */
  readyTimeoutMs?: number;
}

/** `<repo>/dist/src/cli/main.js`, from dist/bench/lib/ or bench/lib/ (tsx). */
export function factoryMain(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const repo = here.includes(`${join('dist', 'bench')}`)
    ? join(here, '..', '..', '..')
    : join(here, '..', '..');
  return join(repo, 'dist', 'src', 'cli', 'main.js');
}

/** Starts `dist/src/cli/main.js serve` with the given env; waits for /healthz. */
export async function startFactoryProcess(
  env: Record<string, string>,
  options: FactoryProcessOptions = {},
): Promise<FactoryProcess> {
  const port = options.port ?? (await freePort());
  const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  const proc = spawn(
    process.execPath,
    [
      // As scripts/start.sh starts it: V8's young generation pinned (no config here sets runtime.*).
      ...nodeFlagsFor(validateConfig({})),
      ...(options.nodeArgs ?? []),
      factoryMain(),
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      ...(options.args ?? []),
    ],
    {
      // A free metrics port unless the caller chooses (several factories may run at once).
      env: { ...process.env, IMAGE_FACTORY__metrics__listen: '127.0.0.1:0', ...env },
      stdio: ['ignore', log ? 'pipe' : 'ignore', log ? 'pipe' : 'inherit'],
    },
  );
  if (log) {
    proc.stdout?.pipe(log, { end: false });
    proc.stderr?.pipe(log, { end: false });
  }
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    proc.once('exit', (code, signal) => {
      log?.end();
      resolve(signal ?? code);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([
      waitForHttp(`${url}/healthz`, 'GET', options.readyTimeoutMs),
      exited.then((code) => {
        throw new Error(`factory process exited (${String(code)}) before answering /healthz`);
      }),
    ]);
  } catch (e) {
    await stopChild(proc, 'SIGKILL');
    throw e;
  }
  return {
    url,
    port,
    pid: proc.pid ?? 0,
    exited,
    stop: async () => {
      await stopChild(proc);
    },
    kill: async () => {
      await stopChild(proc, 'SIGKILL');
    },
  };
}
