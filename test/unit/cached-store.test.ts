/** Cache semantics of CachedSchematicStore: negative TTL, write-through, bounded, errors not cached. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CachedSchematicStore } from '../../src/storage/cached-store.js';
import type { SchematicStore } from '../../src/storage/schematic-store.js';
import { sampleSchematic } from '../contract/schematic-store.contract.js';

class CountingStore implements SchematicStore {
  readonly data = new Map<string, Buffer>();
  gets = 0;
  failNext = false;
  async get(id: string) {
    this.gets++;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('backend down');
    }
    await new Promise((r) => setTimeout(r, 5));
    return this.data.get(id);
  }
  async has(id: string) {
    return this.data.has(id);
  }
  async put(id: string, b: Buffer) {
    this.data.set(id, b);
  }
}

describe('CachedSchematicStore', () => {
  it('caches negatives for the TTL only', async () => {
    let now = 1000;
    const inner = new CountingStore();
    const c = new CachedSchematicStore(inner, { capacity: 10, negativeTtlMs: 30_000, now: () => now });
    const s = sampleSchematic();
    assert.equal(await c.get(s.id), undefined);
    inner.data.set(s.id, s.bytes); // created by another replica
    assert.equal(await c.get(s.id), undefined, 'negative answer still cached');
    now += 30_001;
    assert.deepEqual(await c.get(s.id), s.bytes);
    assert.equal(inner.gets, 2);
  });

  it('a put replaces a cached negative immediately', async () => {
    const inner = new CountingStore();
    const c = new CachedSchematicStore(inner, { capacity: 10, negativeTtlMs: 60_000 });
    const s = sampleSchematic();
    assert.equal(await c.get(s.id), undefined);
    await c.put(s.id, s.bytes);
    assert.deepEqual(await c.get(s.id), s.bytes);
  });

  it('concurrent gets share one backend read', async () => {
    const inner = new CountingStore();
    const s = sampleSchematic();
    inner.data.set(s.id, s.bytes);
    const c = new CachedSchematicStore(inner, { capacity: 10, negativeTtlMs: 1 });
    const all = await Promise.all(Array.from({ length: 20 }, () => c.get(s.id)));
    assert.equal(inner.gets, 1);
    for (const b of all) assert.deepEqual(b, s.bytes);
  });

  it('does not cache errors', async () => {
    const inner = new CountingStore();
    const s = sampleSchematic();
    inner.data.set(s.id, s.bytes);
    const c = new CachedSchematicStore(inner, { capacity: 10, negativeTtlMs: 60_000 });
    inner.failNext = true;
    await assert.rejects(c.get(s.id), /backend down/);
    assert.deepEqual(await c.get(s.id), s.bytes);
  });

  it('is bounded by bytes too', async () => {
    const inner = new CountingStore();
    const c = new CachedSchematicStore(inner, { capacity: 100, maxBytes: 250, negativeTtlMs: 1 });
    const xs = [sampleSchematic(), sampleSchematic(), sampleSchematic(), sampleSchematic()];
    for (const x of xs) await c.put(x.id, x.bytes); // ~70 bytes each
    assert.ok(c.size <= 3, `kept ${c.size}`);
    inner.gets = 0;
    await c.get(xs[3]!.id);
    assert.equal(inner.gets, 0, 'the newest entry is still cached');
  });

  it('is bounded by capacity (LRU)', async () => {
    const inner = new CountingStore();
    const c = new CachedSchematicStore(inner, { capacity: 2, negativeTtlMs: 1 });
    const xs = [sampleSchematic(), sampleSchematic(), sampleSchematic()];
    for (const x of xs) await c.put(x.id, x.bytes);
    assert.equal(c.size, 2);
    inner.gets = 0;
    await c.get(xs[0]!.id); // evicted → backend read
    assert.equal(inner.gets, 1);
  });
});
