/** CPU time of a process (and its live children, e.g. nginx workers) from /proc (Linux). */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc/<pid>/stat times (almost always 100). */
function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

const TICKS = clockTicks();

/** utime + stime of `pid` in ms. */
async function ownCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name (which may contain spaces): state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
}

/** CPU ms used so far by `pid` plus, with `children`, its live child processes. */
export async function cpuMs(pid: number, options: { children?: boolean } = {}): Promise<number> {
  let total = await ownCpuMs(pid);
  if (options.children === true) {
    const list = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
    for (const child of list.split(' ').filter((s) => s !== ''))
      total += await ownCpuMs(Number(child)).catch(() => 0);
  }
  return total;
}
