/** Runs the AssetCache contract against the filesystem cache, plus its LRU bound. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FsAssetCache } from '../../src/cache/fs-cache.js';
import { runAssetCacheContract } from './asset-cache.contract.js';

runAssetCacheContract('filesystem', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'if-cache-'));
  const make = () => new FsAssetCache({ dir, maxBytes: 1 << 30 });
  return {
    cache: make(),
    reopen: async () => make(),
    corrupt: async (sha256: string) => {
      const fh = await open(join(dir, 'blobs', sha256), 'r+');
      await fh.write(Buffer.from([0xff, 0xfe]), 0, 2, 10);
      await fh.close();
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('FsAssetCache invalidate', () => {
  it('drops the entry and its blob, so a re-put of the same bytes is served right', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'if-cache-'));
    const cache = new FsAssetCache({ dir, maxBytes: 1 << 30 });
    const bytes = randomBytes(3000);
    const key = randomBytes(32).toString('hex');
    await writeFile(join(dir, 'in'), bytes);
    const put = await cache.put(key, join(dir, 'in'));
    const fh = await open(join(dir, 'blobs', put.sha256), 'r+');
    await fh.write(Buffer.from([0x00, 0x01]), 0, 2, 5);
    await fh.close();
    await cache.invalidate(key);
    assert.equal(await cache.get(key), undefined);
    await writeFile(join(dir, 'again'), bytes);
    await cache.put(key, join(dir, 'again'));
    const got = await cache.get(key);
    assert.ok(got);
    const chunks: Buffer[] = [];
    for await (const c of await got.open()) chunks.push(c as Buffer);
    assert.deepEqual(Buffer.concat(chunks), bytes);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('FsAssetCache bounds', () => {
  it('evicts least recently used entries beyond maxBytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'if-cache-'));
    let now = 0;
    const cache = new FsAssetCache({ dir, maxBytes: 2500, evictionGraceMs: 0, now: () => ++now });
    const put = async (n: number) => {
      const f = join(dir, `in-${n}`);
      await writeFile(f, randomBytes(1000));
      const key = randomBytes(32).toString('hex');
      await cache.put(key, f);
      return key;
    };
    const a = await put(1);
    const b = await put(2);
    assert.ok(await cache.get(a)); // a is now more recently used than b
    const c = await put(3);
    assert.ok(cache.usedBytes <= 2500);
    assert.equal(await cache.get(b), undefined, 'b was least recently used');
    assert.ok(await cache.get(a));
    assert.ok(await cache.get(c));
    await rm(dir, { recursive: true, force: true });
  });

  it('does not evict an entry handed out within the grace period', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'if-cache-'));
    const cache = new FsAssetCache({ dir, maxBytes: 1500 });
    const put = async (n: number) => {
      const f = join(dir, `in-${n}`);
      await writeFile(f, randomBytes(1000));
      const key = randomBytes(32).toString('hex');
      return { key, asset: await cache.put(key, f) };
    };
    const a = await put(1);
    await put(2); // over the bound, but `a` was just used: it stays readable
    const stream = await a.asset.open();
    let bytes = 0;
    for await (const c of stream) bytes += (c as Buffer).length;
    assert.equal(bytes, 1000);
    await rm(dir, { recursive: true, force: true });
  });
});
