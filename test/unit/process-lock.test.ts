/**
 * Per-process work dirs that PID reuse cannot fool (issue 11): a directory of a process that was
 * killed is swept even when a live process now has its PID (the restarted container's PID 1).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  claimProcessDir,
  OWNER_FILE,
  ownDirName,
  ownerAlive,
  processStartTime,
  processToken,
} from '../../src/util/process-lock.js';

describe('process-lock', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'if-plock-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('names this process by PID and start time, and reads start times from /proc', () => {
    const start = processStartTime(process.pid);
    assert.match(start ?? '', /^\d+$/);
    assert.equal(ownDirName(), `${process.pid}-${processToken(process.pid)}`);
    assert.ok(ownerAlive(ownDirName()));
  });

  it('a directory of a dead process with a reused PID is not alive (kill -9 of a PID-1 container)', () => {
    const token = processToken(1)!;
    const [boot] = token.split('.');
    // PID 1 runs now, but started at another time than the process that made this directory.
    assert.equal(ownerAlive(`1-${boot}.1`), false);
    assert.equal(ownerAlive(`${process.pid}-${boot}.1`), false, 'our own PID with another start time');
    assert.equal(ownerAlive(`1-000000000000.${token.split('.')[1]}`), false, 'another boot');
    assert.equal(ownerAlive(`1-${token}`), true, 'the live PID 1 itself');
    assert.equal(ownerAlive('junk'), false);
  });

  it('legacy `<pid>` names: swept when the PID is ours or gone, kept for other live PIDs', () => {
    assert.equal(ownerAlive(String(process.pid)), false);
    assert.equal(ownerAlive('1'), true);
    assert.equal(ownerAlive('999999999'), false);
  });

  it('claimProcessDir keeps a live process dir, reports the rest, writes the lock file', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      const live = `${child.pid}-${processToken(child.pid!)}`;
      const boot = processToken(1)!.split('.')[0];
      for (const name of [live, `1-${boot}.1`, `${child.pid}-${boot}.1`, String(process.pid), '999999999']) {
        await mkdir(join(root, name, 'build-x'), { recursive: true });
      }
      const { dir, stale } = await claimProcessDir(root);
      assert.equal(dir, join(root, ownDirName()));
      assert.deepEqual(
        [...stale].sort(),
        [`1-${boot}.1`, `${child.pid}-${boot}.1`, String(process.pid), '999999999'].sort(),
      );
      const owner = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')) as { pid: number };
      assert.equal(owner.pid, process.pid);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const again = await claimProcessDir(root);
      assert.ok(again.stale.includes(live), 'a killed process is stale at once');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
