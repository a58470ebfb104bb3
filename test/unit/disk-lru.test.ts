/** DiskLru: least recently used entries go first, recent ones never, entries on disk at start count. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DiskLru } from '../../src/release/disk-lru.js';

describe('DiskLru', () => {
  it('evicts the least recently used files and directories beyond the bound', async () => {
    const root = await mkdtemp(join(tmpdir(), 'if-lru-'));
    const blobs = join(root, 'blobs');
    const arts = join(root, 'artifacts');
    await mkdir(blobs);
    await mkdir(join(arts, 'd1', 'amd64'), { recursive: true });
    await writeFile(join(blobs, 'old'), Buffer.alloc(400)); // present before the process started
    await writeFile(join(arts, 'd1', 'amd64', 'vmlinuz'), Buffer.alloc(300));
    let now = 1_000_000;
    const lru = new DiskLru(
      [
        { dir: blobs, depth: 1 },
        { dir: arts, depth: 2 },
      ],
      1000,
      50,
      () => now,
    );
    assert.deepEqual(await lru.evict(), [], 'within bound: nothing to do (and the disk is scanned now)');
    now += 100;
    await writeFile(join(blobs, 'a'), Buffer.alloc(300));
    await lru.touch(join(blobs, 'a'));
    now += 100;
    await lru.touch(join(arts, 'd1', 'amd64'));
    now += 100;
    await writeFile(join(blobs, 'b'), Buffer.alloc(300));
    await lru.touch(join(blobs, 'b'));
    assert.equal(lru.usedBytes, 1300);
    const evicted: string[] = [];
    const removed = await lru.evict((p) => evicted.push(p));
    assert.deepEqual(removed, [join(blobs, 'old')], 'the entry found at start is the oldest');
    assert.deepEqual(evicted, removed);
    assert.ok(!existsSync(join(blobs, 'old')));
    assert.equal(lru.usedBytes, 900);
    await rm(root, { recursive: true, force: true });
  });

  it('never evicts entries used within the grace period', async () => {
    const root = await mkdtemp(join(tmpdir(), 'if-lru-'));
    const now = 5_000;
    const lru = new DiskLru([{ dir: root, depth: 1 }], 10, 60_000, () => now);
    await writeFile(join(root, 'x'), Buffer.alloc(100));
    await lru.touch(join(root, 'x'));
    assert.deepEqual(await lru.evict(), []);
    assert.ok(existsSync(join(root, 'x')));
    await rm(root, { recursive: true, force: true });
  });
});
