/**
 * What starting one short-lived tool process costs: from this Node process (child_process.spawn
 * with piped stdio, as the builders' tool runner does) and from bash (fork + exec). A large Node
 * process pays for copying its page tables on every fork, which a build with several tools feels.
 */
import { spawn, spawnSync } from 'node:child_process';

/** Mean ms per `/bin/true` started from this process with piped stdio, waited for in turn. */
export async function nodeSpawnMs(count = 30): Promise<number> {
  const once = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = spawn('/bin/true', [], { stdio: ['pipe', 'pipe', 'pipe'] });
      child.on('error', reject);
      child.on('close', () => resolve());
    });
  await once();
  const start = performance.now();
  for (let i = 0; i < count; i++) await once();
  return (performance.now() - start) / count;
}

/** Mean ms per `/bin/true` started by one bash process in a loop (bash's own clock, no startup). */
export function bashSpawnMs(count = 30): number {
  const script = `s=$EPOCHREALTIME; for ((i = 0; i < ${count}; i++)); do /bin/true; done; e=$EPOCHREALTIME; echo "$s $e"`;
  const out = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  const [s, e] = out.stdout.trim().split(' ').map(Number) as [number, number];
  return ((e - s) * 1000) / count;
}
