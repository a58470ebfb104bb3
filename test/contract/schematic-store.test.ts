/** Runs the SchematicStore contract against the filesystem store and the cached decorator. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CachedSchematicStore } from '../../src/storage/cached-store.js';
import { FsSchematicStore } from '../../src/storage/fs-store.js';
import type { SchematicStore } from '../../src/storage/schematic-store.js';
import { runSchematicStoreContract, type StoreHarness } from './schematic-store.contract.js';

async function fsHarness(wrap: (s: SchematicStore) => SchematicStore): Promise<StoreHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'if-store-'));
  return {
    store: wrap(new FsSchematicStore(dir)),
    reopen: async () => wrap(new FsSchematicStore(dir)),
    corrupt: async (id: string) => writeFile(join(dir, id.slice(0, 2), `${id}.yaml`), 'garbage\n'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

runSchematicStoreContract('filesystem', () => fsHarness((s) => s));
runSchematicStoreContract('cached(filesystem)', () =>
  fsHarness((s) => new CachedSchematicStore(s, { capacity: 100, negativeTtlMs: 10 })),
);
