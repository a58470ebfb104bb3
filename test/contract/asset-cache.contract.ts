/** The AssetCache contract: every implementation (filesystem, registry) runs this suite. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { AssetCache } from '../../src/cache/asset-cache.js';

/** What a contract run needs from an implementation under test. */
export interface CacheHarness {
  cache: AssetCache;
  /** A fresh cache over the same backend (persistence). */
  reopen?: () => Promise<AssetCache>;
  /** Flips bytes of the stored asset behind the cache's back. */
  corrupt?: (sha256: string) => Promise<void>;
  cleanup: () => Promise<void>;
}

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const randomKey = () => randomBytes(32).toString('hex');

/** Temp dirs made by {@link tempFile}; removed after each contract suite. */
const tempDirs: string[] = [];

async function tempFile(bytes: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'if-asset-'));
  tempDirs.push(dir);
  const p = join(dir, 'asset.bin');
  await writeFile(p, bytes);
  return p;
}

/** Registers the contract tests for one AssetCache implementation. */
export function runAssetCacheContract(name: string, make: () => Promise<CacheHarness>): void {
  describe(`AssetCache contract: ${name}`, () => {
    let h: CacheHarness;
    before(async () => {
      h = await make();
    });
    after(async () => {
      await h.cleanup();
      for (const d of tempDirs.splice(0)) await rm(d, { recursive: true, force: true });
    });

    it('misses unknown and malformed keys', async () => {
      assert.equal(await h.cache.get(randomKey()), undefined);
      assert.equal(await h.cache.get('../x'), undefined);
    });

    it('stores, returns metadata and bytes, and serves ranges', async () => {
      const bytes = randomBytes(70_000);
      const key = randomKey();
      const put = await h.cache.put(key, await tempFile(bytes));
      assert.equal(put.size, bytes.length);
      assert.equal(put.sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.equal(put.sha512, createHash('sha512').update(bytes).digest('hex'));
      const got = await h.cache.get(key);
      assert.ok(got);
      assert.deepEqual(await readAll(await got.open()), bytes);
      assert.deepEqual(await readAll(await got.open({ start: 100, end: 199 })), bytes.subarray(100, 200));
    });

    it('two keys with identical bytes both work', async () => {
      const bytes = randomBytes(1000);
      const [k1, k2] = [randomKey(), randomKey()];
      await h.cache.put(k1, await tempFile(bytes));
      await h.cache.put(k2, await tempFile(bytes));
      assert.deepEqual(await readAll(await (await h.cache.get(k1))!.open()), bytes);
      assert.deepEqual(await readAll(await (await h.cache.get(k2))!.open()), bytes);
    });

    it('persists across reopen', async (t) => {
      if (!h.reopen) return t.skip('no reopen');
      const bytes = randomBytes(500);
      const key = randomKey();
      await h.cache.put(key, await tempFile(bytes));
      const again = await h.reopen();
      assert.deepEqual(await readAll(await (await again.get(key))!.open()), bytes);
    });

    it('a corrupted entry is a miss, never served', async (t) => {
      if (!h.corrupt || !h.reopen) return t.skip('cannot corrupt');
      const bytes = randomBytes(4096);
      const key = randomKey();
      const put = await h.cache.put(key, await tempFile(bytes));
      await h.corrupt(put.sha256);
      const fresh = await h.reopen();
      assert.equal(await fresh.get(key), undefined);
    });

    it('after invalidate, a corrupted entry is a miss in the same instance too', async (t) => {
      if (!h.corrupt || !h.cache.invalidate) return t.skip('cannot corrupt or invalidate');
      const bytes = randomBytes(4096);
      const key = randomKey();
      const put = await h.cache.put(key, await tempFile(bytes));
      assert.ok(await h.cache.get(key), 'verified once');
      await h.corrupt(put.sha256);
      await h.cache.invalidate(key);
      assert.equal(await h.cache.get(key), undefined);
    });
  });
}
