/**
 * Runs external programs for the fixture builder and test helpers: argv only (no shell unless the
 * caller asks for `sh -c`), stderr captured so a failure names the step and shows what the tool said.
 */
import { spawn } from 'node:child_process';
import { FactoryError } from '../errors.js';

/** Options for {@link run}. */
export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Bytes written to the child's stdin, then closed. */
  input?: Buffer | string;
  /** Kill the child and fail after this long (default 10 minutes: apt downloads can be slow). */
  timeoutMs?: number;
  /** Short name of the step, used in error messages. */
  step?: string;
}

/** Result of a finished command. */
export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs `cmd args…`, resolves with its output on exit code 0, rejects with a BUILD_FAILED naming the step otherwise. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const step = opts.step ?? `${cmd} ${args.slice(0, 3).join(' ')}`;
  const timeoutMs = opts.timeoutMs ?? 600_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(
        new FactoryError('BUILD_FAILED', `fixture step "${step}": cannot start ${cmd}: ${e.message}`, {
          cause: e,
        }),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) {
        resolve({ stdout: Buffer.concat(out), stderr });
        return;
      }
      const why = signal
        ? `killed by ${signal}${signal === 'SIGKILL' ? ` (timeout ${timeoutMs} ms?)` : ''}`
        : `exit code ${code}`;
      reject(
        new FactoryError(
          'BUILD_FAILED',
          `fixture step "${step}" failed: ${cmd} ${why}: ${stderr.trim().slice(-2000)}`,
        ),
      );
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs a bash pipeline with `pipefail` (for `find | sort | cpio | xz` style steps); fails like {@link run}. */
export function sh(script: string, opts: RunOptions = {}): Promise<RunResult> {
  return run('bash', ['-c', `set -euo pipefail; ${script}`], opts);
}
