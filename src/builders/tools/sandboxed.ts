/**
 * Runs untrusted programs (overlay installers, talos-imager §8): a hard timeout, bounded
 * stdout/stderr, a minimal environment, a scratch working directory, and no network when the
 * machine allows it: `unshare --net --map-root-user --pid --fork --kill-child` puts the program in
 * fresh user, network (loopback only, down) and PID namespaces without needing root, and kills
 * everything it started when it ends. Where user namespaces are disabled the program runs
 * without network isolation (reported as `isolated: false`, so callers can log or refuse).
 */
import { spawn } from 'node:child_process';
import { FactoryError } from '../../errors.js';

/** Options of {@link runSandboxed}. */
export interface SandboxOptions {
  /** Error prefix naming the step, e.g. `overlay rpi_generic: get-options`. */
  step: string;
  stdin: string;
  cwd: string;
  timeoutMs: number;
  /** Most stdout bytes accepted; more kills the program. */
  maxOutputBytes: number;
  /** Extra environment variables (PATH, HOME=cwd, TMPDIR=cwd and LC_ALL=C are always set). */
  env?: Record<string, string>;
  /** `require` fails when no isolation is possible; default `prefer`. */
  network?: 'prefer-isolated' | 'require-isolated';
  signal?: AbortSignal;
}

/** What the program printed, and whether it ran isolated. */
export interface SandboxResult {
  stdout: string;
  isolated: boolean;
}

const UNSHARE = ['--net', '--map-root-user', '--pid', '--fork', '--kill-child', '--'];
const STDERR_TAIL = 2048;

let unshareWorks: Promise<boolean> | undefined;

/** Whether `unshare` can make the namespaces here (probed once per process). */
export function canIsolate(): Promise<boolean> {
  unshareWorks ??= new Promise((resolve) => {
    const p = spawn('unshare', [...UNSHARE, 'true'], { stdio: 'ignore' });
    p.on('error', () => resolve(false));
    p.on('close', (code) => resolve(code === 0));
  });
  return unshareWorks;
}

/** Runs `program args` under the sandbox rules; rejects with BUILD_FAILED/BUILD_TIMEOUT naming the step. */
export async function runSandboxed(
  program: string,
  args: readonly string[],
  o: SandboxOptions,
): Promise<SandboxResult> {
  const isolated = await canIsolate();
  if (!isolated && o.network === 'require-isolated') {
    throw new FactoryError('BUILD_FAILED', `${o.step}: cannot isolate the program from the network here`);
  }
  const [cmd, argv] = isolated ? ['unshare', [...UNSHARE, program, ...args]] : [program, [...args]];
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: o.cwd,
    TMPDIR: o.cwd,
    LC_ALL: 'C',
    ...o.env,
  };
  return new Promise<SandboxResult>((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: o.cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = Buffer.alloc(0);
    let failure: FactoryError | undefined;
    const kill = (why: FactoryError): void => {
      failure ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(
      () => kill(new FactoryError('BUILD_TIMEOUT', `${o.step}: did not finish within ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
    const onAbort = (): void => kill(new FactoryError('BUILD_FAILED', `${o.step}: aborted`));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > o.maxOutputBytes) {
        kill(new FactoryError('BUILD_FAILED', `${o.step}: printed more than ${o.maxOutputBytes} bytes`));
        return;
      }
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      err = Buffer.concat([err, b]);
      if (err.length > STDERR_TAIL) err = err.subarray(err.length - STDERR_TAIL);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.stdin);
    child.on('error', (e) => kill(new FactoryError('BUILD_FAILED', `${o.step}: cannot start: ${e.message}`)));
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (failure !== undefined) return reject(failure);
      if (code !== 0) {
        const how = code === null ? `was killed by ${sig ?? 'a signal'}` : `exited ${code}`;
        const tail = err.toString('utf8').trim();
        return reject(new FactoryError('BUILD_FAILED', `${o.step}: ${how}${tail === '' ? '' : `: ${tail}`}`));
      }
      resolve({ stdout: Buffer.concat(out).toString('utf8'), isolated });
    });
  });
}
