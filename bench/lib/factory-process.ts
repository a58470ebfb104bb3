/** Runs the factory as its own process (like production), so the load generator does not share its event loop. */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './nginx.js';
import { stopChild, waitForHttp } from './child.js';

/** A factory process listening on loopback. */
export interface FactoryProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts `dist/src/cli/main.js serve` with the given env; waits for /healthz. */
export async function startFactoryProcess(env: Record<string, string>): Promise<FactoryProcess> {
  const port = await freePort();
  const here = dirname(fileURLToPath(import.meta.url));
  // From dist/bench/lib/ or bench/lib/ (tsx), the compiled CLI sits at <repo>/dist/src/cli/main.js.
  const repo = here.includes(`${join('dist', 'bench')}`)
    ? join(here, '..', '..', '..')
    : join(here, '..', '..');
  const proc = spawn(
    process.execPath,
    [join(repo, 'dist', 'src', 'cli', 'main.js'), 'serve', '--listen', `127.0.0.1:${port}`],
    {
      // A free metrics port unless the caller chooses (several factories may run at once).
      env: { ...process.env, IMAGE_FACTORY__metrics__listen: '127.0.0.1:0', ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`);
  return {
    url,
    pid: proc.pid ?? 0,
    stop: async () => {
      await stopChild(proc);
    },
  };
}
