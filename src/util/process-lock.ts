/**
 * Per-process scratch directories that PID reuse cannot fool. Each process works in
 * `<root>/<pid>-<start>` where `<start>` identifies that one process: the boot ID and the process
 * start time from `/proc/<pid>/stat`. A lock file inside (`owner.json`) records the same identity.
 * A directory belongs to a live process only if a process with that PID exists now *and* started
 * at that time on this boot; anything else is left over (a crash, a `kill -9`, a container whose
 * PID 1 was killed and restarted as PID 1 again) and is swept. Without `/proc` (not Linux) the
 * identity is the PID alone and liveness is `kill(pid, 0)`.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The lock file in every per-process directory. */
export const OWNER_FILE = 'owner.json';

let bootIdMemo: string | undefined;

/** Short form of this boot's ID (processes of another boot are never alive now). */
function bootId(): string {
  if (bootIdMemo === undefined) {
    try {
      bootIdMemo = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')
        .trim()
        .replace(/-/g, '')
        .slice(0, 12);
    } catch {
      bootIdMemo = '';
    }
  }
  return bootIdMemo;
}

/** Start time of process `pid` in clock ticks since boot (`/proc/<pid>/stat` field 22), if known. */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces and parentheses.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = rest[19]; // field 22; `rest` starts at field 3
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

/** The identity token of process `pid` (`<boot>.<start>`), or undefined without /proc. */
export function processToken(pid: number): string | undefined {
  const start = processStartTime(pid);
  return start === undefined ? undefined : `${bootId()}.${start}`;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The directory name of this process: `<pid>-<boot>.<start>` (or `<pid>` without /proc). */
export function ownDirName(): string {
  const token = processToken(process.pid);
  return token === undefined ? String(process.pid) : `${process.pid}-${token}`;
}

/**
 * Whether the directory `name` belongs to a process that runs now. Names without a token (older
 * factories) count as live while their PID exists and is not ours: we never use such a name.
 */
export function ownerAlive(name: string): boolean {
  const m = /^(\d+)(?:-([0-9a-f]*\.\d+))?$/.exec(name);
  if (!m) return false;
  const pid = Number(m[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (m[2] === undefined) return pid !== process.pid && pidExists(pid);
  const now = processToken(pid);
  if (now === undefined) return pidExists(pid) && processToken(process.pid) === undefined;
  return now === m[2];
}

/** What {@link claimProcessDir} reports about the sweep. */
export interface SweepReport {
  /** Entries that were left over (to be removed by the caller). */
  stale: string[];
}

/**
 * Creates this process's directory under `root` (with its lock file) and lists the entries of
 * `root` that belong to no running process, for the caller to remove.
 */
export async function claimProcessDir(root: string): Promise<{ dir: string } & SweepReport> {
  await mkdir(root, { recursive: true });
  const mine = ownDirName();
  const stale = (await readdir(root)).filter((name) => name !== mine && !ownerAlive(name));
  const dir = join(root, mine);
  await mkdir(dir, { recursive: true });
  const start = processStartTime(process.pid);
  await writeFile(
    join(dir, OWNER_FILE),
    `${JSON.stringify({ pid: process.pid, boot: bootId(), start: start ?? null })}\n`,
  );
  return { dir, stale };
}
