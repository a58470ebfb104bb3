/** Throughput of large downloads with wrk (C, keep-alive): exact byte counts via a Lua `done` hook. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What one wrk run moved. */
export interface WrkResult {
  bytes: number;
  seconds: number;
  requests: number;
  /** Connect/read/write/timeout errors and non-2xx/3xx responses. */
  errors: number;
  /** bytes / seconds in MiB/s. */
  mibPerSecond: number;
}

const DONE_HOOK = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %d\\n", summary.bytes, summary.duration, summary.requests,
    e.connect + e.read + e.write + e.timeout + e.status))
end
`;

/** Runs `wrk` against `url` with `connections` connections (keep-alive, bodies read to the end) for `seconds`. */
export async function wrkThroughput(
  url: string,
  o: { connections: number; threads: number; seconds: number },
): Promise<WrkResult> {
  const dir = await mkdtemp(join(tmpdir(), 'if-wrk-'));
  try {
    const script = join(dir, 'done.lua');
    await writeFile(script, DONE_HOOK);
    // A 200 MiB body takes far longer than wrk's default 2 s request timeout.
    const args = [
      '-t',
      String(o.threads),
      '-c',
      String(o.connections),
      '-d',
      `${o.seconds}s`,
      '--timeout',
      '120s',
      '-s',
      script,
      url,
    ];
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve(stdout) : reject(new Error(`wrk exited ${code}: ${stderr.trim()}`)),
      );
    });
    const m = /^WRK (\d+) (\d+) (\d+) (\d+)$/m.exec(out);
    if (!m) throw new Error(`wrk: no summary line in its output:\n${out}`);
    const [bytes, micros, requests, errors] = m.slice(1).map(Number) as [number, number, number, number];
    const seconds = micros / 1e6;
    return { bytes, seconds, requests, errors, mibPerSecond: bytes / 1024 ** 2 / seconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
