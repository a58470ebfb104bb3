/** Resident memory of another process, read from /proc/<pid>/status (Linux). */
import { readFile } from 'node:fs/promises';

/** VmRSS of `pid` in KiB. */
export async function readRssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!m?.[1]) throw new Error(`/proc/${pid}/status has no VmRSS line (process gone?)`);
  return Number(m[1]);
}

/** A running sampler; `stop()` returns the peak and how many samples were taken. */
export interface RssSampler {
  stop(): Promise<{ peakKiB: number; samples: number }>;
}

/** Samples VmRSS of `pid` every `intervalMs` until stopped. */
export function sampleRss(pid: number, intervalMs = 100): RssSampler {
  let peak = 0;
  let samples = 0;
  let pending: Promise<void> = Promise.resolve();
  const tick = (): void => {
    // Chained so a slow read never overlaps the next one.
    pending = pending.then(async () => {
      const kib = await readRssKiB(pid).catch(() => 0);
      peak = Math.max(peak, kib);
      samples++;
    });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      tick();
      await pending;
      return { peakKiB: peak, samples };
    },
  };
}
