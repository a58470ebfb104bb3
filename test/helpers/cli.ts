/** Runs the image-factory CLI as a child process (compiled JS under dist/, or TS through tsx). */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Outcome of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `image-factory <args>` with `env` added; never rejects on a non-zero exit. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 300_000,
): Promise<CliResult> {
  const js = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const argv = existsSync(js)
    ? [js, ...args]
    : ['--import', 'tsx', fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)), ...args];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      argv,
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
