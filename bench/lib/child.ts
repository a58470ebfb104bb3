/** Helpers for the server processes benchmarks start: wait until they answer, stop them. */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `url` until any HTTP answer arrives (a refused connection means "not yet"), ~10 s at most. */
export async function waitForHttp(url: string, method: 'GET' | 'HEAD' = 'GET'): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(url, { method });
      await res.arrayBuffer();
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${url} did not answer within 10 s`);
}

/** Sends `signal` and waits for the process to exit. */
export async function stopChild(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  await exited;
}
