/**
 * The SchematicStore contract: every implementation (filesystem, registry, cached) runs this suite.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it, before, after } from 'node:test';
import type { SchematicStore } from '../../src/storage/schematic-store.js';

/** What a contract run needs from an implementation under test. */
export interface StoreHarness {
  store: SchematicStore;
  /** Replaces the stored bytes of `id` with garbage behind the store's back (if the backend allows). */
  corrupt?: (id: string) => Promise<void>;
  /** A fresh store over the same backend (to check persistence). */
  reopen?: () => Promise<SchematicStore>;
  /**
   * Removes corrupt bytes on the backend the way an operator would, for backends that never let a
   * client overwrite stored content (OCI registries keep the first copy of a digest). Runs between
   * the corrupt read and the healing put; absent = the store heals by itself.
   */
  repair?: (id: string) => Promise<void>;
  cleanup: () => Promise<void>;
}

/** A random canonical-looking document and its ID. */
export function sampleSchematic(): { id: string; bytes: Buffer } {
  const bytes = Buffer.from(
    `customization:\n    extraKernelArgs:\n        - x=${randomBytes(8).toString('hex')}\n`,
  );
  return { id: createHash('sha256').update(bytes).digest('hex'), bytes };
}

/** Registers the contract tests for one implementation. */
export function runSchematicStoreContract(name: string, make: () => Promise<StoreHarness>): void {
  describe(`SchematicStore contract: ${name}`, () => {
    let h: StoreHarness;
    before(async () => {
      h = await make();
    });
    after(async () => {
      await h.cleanup();
    });

    it('returns undefined / false for an unknown ID', async () => {
      const { id } = sampleSchematic();
      assert.equal(await h.store.get(id), undefined);
      assert.equal(await h.store.has(id), false);
    });

    it('returns undefined for malformed IDs without failing', async () => {
      for (const bad of ['', 'aaaaaaaaaaaa', 'Z'.repeat(64), '../../etc/passwd', 'A'.repeat(64)]) {
        assert.equal(await h.store.get(bad), undefined, bad);
      }
    });

    it('stores and returns the exact bytes', async () => {
      const s = sampleSchematic();
      await h.store.put(s.id, s.bytes);
      assert.deepEqual(await h.store.get(s.id), s.bytes);
      assert.equal(await h.store.has(s.id), true);
    });

    it('put is idempotent', async () => {
      const s = sampleSchematic();
      await h.store.put(s.id, s.bytes);
      await h.store.put(s.id, s.bytes);
      assert.deepEqual(await h.store.get(s.id), s.bytes);
    });

    it('50 concurrent identical puts all succeed and store one copy', async () => {
      const s = sampleSchematic();
      await Promise.all(Array.from({ length: 50 }, () => h.store.put(s.id, s.bytes)));
      assert.deepEqual(await h.store.get(s.id), s.bytes);
    });

    it('a miss followed by a put is visible', async () => {
      const s = sampleSchematic();
      assert.equal(await h.store.get(s.id), undefined);
      await h.store.put(s.id, s.bytes);
      assert.deepEqual(await h.store.get(s.id), s.bytes);
    });

    it('persists across reopen', async (t) => {
      if (!h.reopen) return t.skip('backend has no reopen');
      const s = sampleSchematic();
      await h.store.put(s.id, s.bytes);
      const again = await h.reopen();
      assert.deepEqual(await again.get(s.id), s.bytes);
    });

    it('treats corrupt stored bytes as missing, and a later put heals it', async (t) => {
      if (!h.corrupt || !h.reopen) return t.skip('backend cannot be corrupted from outside');
      const s = sampleSchematic();
      await h.store.put(s.id, s.bytes);
      await h.corrupt(s.id);
      const fresh = await h.reopen();
      assert.equal(await fresh.get(s.id), undefined);
      await h.repair?.(s.id);
      await fresh.put(s.id, s.bytes);
      assert.deepEqual(await fresh.get(s.id), s.bytes);
    });
  });
}
