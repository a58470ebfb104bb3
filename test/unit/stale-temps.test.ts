/**
 * Temp names carry their writer's identity; the start-up sweep removes those of processes that no
 * longer run (files and directories, at any depth it looks into) and keeps live ones and the rest.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempPathFor } from '../../src/util/atomic-file.js';
import { processToken } from '../../src/util/process-lock.js';
import { isStaleTemp, sweepStaleTemps, tempTag } from '../../src/util/stale-temps.js';

describe('stale temp sweep', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'if-stale-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('names temp files after this process; a dead owner (same PID, other start) is stale', () => {
    const tag = tempTag();
    assert.match(tag, new RegExp(`^\\.tmp-${process.pid}-[0-9a-f]*\\.\\d+-[0-9a-f]{12}$`));
    assert.equal(isStaleTemp(`.x${tag}`), false);
    const boot = processToken(process.pid)!.split('.')[0];
    assert.equal(isStaleTemp(`.blob.tmp-${process.pid}-${boot}.1-abcdef`), true);
    assert.equal(isStaleTemp('.blob.tmp-999999999-abc'), true, 'an old-style name of a gone PID');
    assert.equal(isStaleTemp('blob'), false);
    assert.match(tempPathFor('/d/file.json'), /^\/d\/\.file\.json\.tmp-/);
  });

  it('sweeps stale files and directories below the root, keeps live ones and skipped trees', async () => {
    const boot = processToken(process.pid)!.split('.')[0];
    const dead = `.tmp-${process.pid}-${boot}.1-0123456789ab`;
    await mkdir(join(root, 'assets', 'keys', 'ab'), { recursive: true });
    await mkdir(join(root, 'cache', 'artifacts', 'sha256-x', `amd64${dead}`, 'sub'), { recursive: true });
    await mkdir(join(root, 'work'), { recursive: true });
    await writeFile(join(root, 'assets', 'keys', 'ab', `.k.json${dead}`), '{');
    await writeFile(join(root, 'assets', 'keys', 'ab', 'k.json'), '{}');
    await writeFile(join(root, 'assets', `.blob${tempTag()}`), 'live');
    await writeFile(join(root, 'work', `.w${dead}`), 'skipped');
    const removed = (await sweepStaleTemps(root, { skip: ['work'] })).sort();
    assert.deepEqual(removed, [`assets/keys/ab/.k.json${dead}`, `cache/artifacts/sha256-x/amd64${dead}`]);
    assert.ok(existsSync(join(root, 'assets', 'keys', 'ab', 'k.json')));
    assert.ok(existsSync(join(root, 'work', `.w${dead}`)));
  });
});
