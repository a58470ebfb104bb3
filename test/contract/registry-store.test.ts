/**
 * Runs the SchematicStore contract against the registry store (bare and behind the cached
 * decorator) on a real docker-registry, plus registry-specific behaviour: replicas sharing a
 * repository, the pushed image as skopeo sees it, corruption the registry cannot repair, outages,
 * and htpasswd auth.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { isFactoryError } from '../../src/errors.js';
import {
  EMPTY_CONFIG_DESCRIPTOR,
  OCI_MANIFEST,
  OciClient,
  type OciClientOptions,
} from '../../src/oci/index.js';
import { staticCredentials } from '../../src/oci/index.js';
import { CachedSchematicStore } from '../../src/storage/cached-store.js';
import { RegistrySchematicStore, SCHEMATIC_MEDIA_TYPE } from '../../src/storage/registry-store.js';
import type { SchematicStore } from '../../src/storage/schematic-store.js';
import type { Logger } from '../../src/util/logger.js';
import { freePort, type RunningRegistry, startRegistry } from '../helpers/registry.js';
import { runSchematicStoreContract, sampleSchematic, type StoreHarness } from './schematic-store.contract.js';

const run = promisify(execFile);
const TIMEOUT = { timeout: 30_000 };
const REPO_PATH = 'siderolabs/image-factory/schematics';

/** Where distribution 2.8's filesystem driver keeps a blob's bytes. */
function blobDataPath(registry: RunningRegistry, hex: string): string {
  return join(registry.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

function makeClient(registry: RunningRegistry, extra: OciClientOptions = {}): OciClient {
  return new OciClient({
    hosts: { [registry.host]: { insecure: true } },
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...extra,
  });
}

/** A logger that records error-level entries. */
function recordingLogger(): Logger & { errors: Array<{ obj: object; msg: string | undefined }> } {
  const errors: Array<{ obj: object; msg: string | undefined }> = [];
  return { errors, info() {}, warn() {}, debug() {}, error: (obj, msg) => errors.push({ obj, msg }) };
}

async function registryHarness(wrap: (s: SchematicStore) => SchematicStore): Promise<StoreHarness> {
  const registry = await startRegistry();
  const repo = `${registry.host}/${REPO_PATH}`;
  const open = (): SchematicStore => wrap(new RegistrySchematicStore(makeClient(registry), repo));
  return {
    store: open(),
    reopen: async () => open(),
    corrupt: (id) => writeFile(blobDataPath(registry, id), 'garbage\n'),
    // The registry keeps the first copy of a digest forever: an operator has to delete the bad data.
    repair: (id) => rm(blobDataPath(registry, id)),
    cleanup: () => registry.stop(),
  };
}

runSchematicStoreContract('registry', () => registryHarness((s) => s));
runSchematicStoreContract('cached(registry)', () =>
  registryHarness((s) => new CachedSchematicStore(s, { capacity: 100, negativeTtlMs: 10 })),
);

describe('RegistrySchematicStore on docker-registry 2.8', TIMEOUT, () => {
  let registry: RunningRegistry;
  let repo: string;
  before(async () => {
    registry = await startRegistry();
    repo = `${registry.host}/${REPO_PATH}`;
  });
  after(() => registry.stop());

  it('two replicas (separate clients and stores) see each other’s schematics', async () => {
    const a = new RegistrySchematicStore(makeClient(registry), repo);
    const b = new RegistrySchematicStore(makeClient(registry), repo);
    const s = sampleSchematic();
    assert.equal(await b.get(s.id), undefined);
    await a.put(s.id, s.bytes);
    assert.deepEqual(await b.get(s.id), s.bytes);
    assert.equal(await b.has(s.id), true);
    // B putting the same schematic again is a no-op success.
    await b.put(s.id, s.bytes);
    assert.deepEqual(await a.get(s.id), s.bytes);
  });

  it('a cached replica sees a schematic created elsewhere once its negative entry expires', async () => {
    let now = 0;
    const a = new RegistrySchematicStore(makeClient(registry), repo);
    const b = new CachedSchematicStore(new RegistrySchematicStore(makeClient(registry), repo), {
      capacity: 10,
      negativeTtlMs: 30_000,
      now: () => now,
    });
    const s = sampleSchematic();
    assert.equal(await b.get(s.id), undefined);
    await a.put(s.id, s.bytes);
    assert.equal(await b.get(s.id), undefined, 'negative entry still fresh');
    now += 30_001;
    assert.deepEqual(await b.get(s.id), s.bytes);
  });

  it('pushes an image tagged <id> (empty config + one schematic layer) that skopeo can read', async () => {
    const store = new RegistrySchematicStore(makeClient(registry), repo);
    const s = sampleSchematic();
    await store.put(s.id, s.bytes);
    const { stdout } = await run(
      'skopeo',
      ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/${REPO_PATH}:${s.id}`],
      { timeout: 20_000 },
    );
    const manifest = JSON.parse(stdout) as {
      schemaVersion: number;
      mediaType: string;
      artifactType: string;
      config: { mediaType: string; digest: string; size: number };
      layers: Array<{ mediaType: string; digest: string; size: number }>;
    };
    assert.equal(manifest.schemaVersion, 2);
    assert.equal(manifest.mediaType, OCI_MANIFEST);
    assert.equal(manifest.artifactType, SCHEMATIC_MEDIA_TYPE);
    assert.deepEqual(manifest.config, EMPTY_CONFIG_DESCRIPTOR);
    assert.deepEqual(manifest.layers, [
      { mediaType: SCHEMATIC_MEDIA_TYPE, digest: `sha256:${s.id}`, size: s.bytes.length },
    ]);
    const tags = await makeClient(registry).listTags(repo);
    assert.ok(tags.includes(s.id));
  });

  it('makes no request for malformed IDs', async () => {
    let requests = 0;
    const client = makeClient(registry, {
      fetch: (url, init) => {
        requests++;
        return globalThis.fetch(url, init);
      },
    });
    const store = new RegistrySchematicStore(client, repo);
    for (const bad of [
      '',
      'abc',
      'G'.repeat(64),
      'A'.repeat(64),
      '../../v2/_catalog',
      `${'a'.repeat(64)}/x`,
    ]) {
      assert.equal(await store.get(bad), undefined, bad);
      assert.equal(await store.has(bad), false, bad);
      await assert.rejects(store.put(bad, Buffer.from('x')), (e: unknown) => isFactoryError(e, 'INTERNAL'));
    }
    assert.equal(requests, 0);
  });

  it('rejects a put whose bytes do not hash to the ID', async () => {
    const store = new RegistrySchematicStore(makeClient(registry), repo);
    const s = sampleSchematic();
    await assert.rejects(store.put(s.id, Buffer.from('other bytes')), (e: unknown) => {
      assert.ok(isFactoryError(e, 'INTERNAL'));
      assert.match(e.message, new RegExp(s.id));
      return true;
    });
    assert.equal(await store.has(s.id), false);
  });

  it('never returns corrupt bytes; a put over corruption the registry keeps fails loudly', async () => {
    const log = recordingLogger();
    const store = new RegistrySchematicStore(makeClient(registry), repo, log);
    const s = sampleSchematic();
    await store.put(s.id, s.bytes);
    // Same length, different content: only the digest check can tell.
    const garbage = Buffer.from(s.bytes);
    garbage[0] = garbage[0]! ^ 0xff;
    await writeFile(blobDataPath(registry, s.id), garbage);
    assert.equal(await store.get(s.id), undefined);
    assert.equal(log.errors.length, 1);
    assert.match(JSON.stringify(log.errors[0]), new RegExp(`sha256:${s.id}`));
    await assert.rejects(store.put(s.id, s.bytes), (e: unknown) => {
      assert.ok(isFactoryError(e, 'DIGEST_MISMATCH'));
      assert.match(e.message, /never overwrites/);
      return true;
    });
    assert.equal(await store.get(s.id), undefined);
  });

  it('restores a missing tag when the blob is already there', async () => {
    const client = makeClient(registry);
    const store = new RegistrySchematicStore(client, repo);
    const s = sampleSchematic();
    await client.pushBlob(repo, s.bytes);
    assert.equal(await store.has(s.id), true);
    assert.ok(!(await client.listTags(repo)).includes(s.id));
    await store.put(s.id, s.bytes);
    assert.ok((await client.listTags(repo)).includes(s.id));
  });

  it('propagates registry outages instead of reporting a miss (so nothing caches them)', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const client = new OciClient({ hosts: { [dead]: { insecure: true } }, retry: { maxAttempts: 1 } });
    let innerGets = 0;
    const inner = new RegistrySchematicStore(client, `${dead}/${REPO_PATH}`);
    const counting: SchematicStore = {
      get: (id) => {
        innerGets++;
        return inner.get(id);
      },
      put: (id, b) => inner.put(id, b),
      has: (id) => inner.has(id),
    };
    const cached = new CachedSchematicStore(counting, { capacity: 10, negativeTtlMs: 60_000 });
    const { id, bytes } = sampleSchematic();
    const unavailable = (e: unknown): boolean =>
      isFactoryError(e, 'UPSTREAM_UNAVAILABLE') && e.message.includes(dead);
    await assert.rejects(inner.get(id), unavailable);
    await assert.rejects(inner.has(id), unavailable);
    await assert.rejects(inner.put(id, bytes), unavailable);
    await assert.rejects(cached.get(id), unavailable);
    await assert.rejects(cached.get(id), unavailable);
    assert.equal(innerGets, 2, 'the failure was not cached as a miss');
  });
});

describe('RegistrySchematicStore with htpasswd auth', TIMEOUT, () => {
  let registry: RunningRegistry;
  let repo: string;
  before(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: { factory: 's3cret pass' } });
    repo = `${registry.host}/${REPO_PATH}`;
  });
  after(() => registry.stop());

  it('stores and reads with credentials; anonymous reads fail with UPSTREAM_AUTH rather than a miss', async () => {
    const client = makeClient(registry, {
      credentials: staticCredentials({ [registry.host]: { username: 'factory', password: 's3cret pass' } }),
    });
    const store = new RegistrySchematicStore(client, repo);
    const s = sampleSchematic();
    assert.equal(await store.get(s.id), undefined);
    await store.put(s.id, s.bytes);
    assert.deepEqual(await store.get(s.id), s.bytes);
    assert.equal(await store.has(s.id), true);
    const again = new RegistrySchematicStore(
      makeClient(registry, {
        credentials: staticCredentials({ [registry.host]: { username: 'factory', password: 's3cret pass' } }),
      }),
      repo,
    );
    assert.deepEqual(await again.get(s.id), s.bytes);

    const anonymous = new RegistrySchematicStore(makeClient(registry), repo);
    await assert.rejects(anonymous.get(s.id), (e: unknown) => isFactoryError(e, 'UPSTREAM_AUTH'));
  });
});
