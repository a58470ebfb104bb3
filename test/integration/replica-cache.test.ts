/**
 * Two replicas sharing a registry asset cache (`cache.store: registry`) over a release served by a
 * real docker-registry, behind a proxy that counts every release request. Replica B, with a fresh
 * data dir, serves an initramfs replica A built — extensions included — with manifest requests to
 * the release only: zero blob downloads. And a new schematic with the same extensions on B reuses
 * A's extension bundles through the shared cache: no extension image blob is pulled.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { publishFixtures } from '../fixtures/publish.js';
import { makeTestFactory, type TestFactory } from '../helpers/factory.js';
import { fixtureReleases } from '../helpers/fixture-factory.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';

const EXTENSIONS = ['siderolabs/amd-ucode', 'siderolabs/realtek-firmware', 'siderolabs/vfat-module'];
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('replicas sharing a registry asset cache', { timeout: 600_000 }, () => {
  let release: RunningRegistry;
  let cacheRegistry: RunningRegistry;
  let proxy: FaultProxy;
  const replicas: TestFactory[] = [];

  const replica = async (): Promise<TestFactory> => {
    const t = await makeTestFactory({
      artifacts: { source: 'registry', core: { registry: proxy.host, insecure: true } },
      cache: {
        store: 'registry',
        registry: { registry: cacheRegistry.host, namespace: 'factory', repository: 'cache', insecure: true },
      },
    });
    replicas.push(t);
    return t;
  };

  before(async () => {
    const fx = await fixtureReleases();
    release = await startRegistry();
    cacheRegistry = await startRegistry();
    await publishFixtures(fx.root, release.host);
    proxy = await startFaultProxy(release.url);
  });
  after(async () => {
    for (const t of replicas) await t.cleanup();
    await proxy?.stop();
    await release?.stop();
    await cacheRegistry?.stop();
  });

  const schematic = async (t: TestFactory, args: string): Promise<string> => {
    const res = await t.factory.app.inject({
      method: 'POST',
      url: '/schematics',
      payload: `customization:\n  extraKernelArgs: [${args}]\n  systemExtensions:\n    officialExtensions: [${EXTENSIONS.join(', ')}]\n`,
    });
    assert.equal(res.statusCode, 201, res.body);
    return (res.json() as { id: string }).id;
  };
  const blobGets = (from: number, repo?: RegExp): string[] =>
    proxy.requests
      .slice(from)
      .filter((r) => r.method === 'GET' && /\/blobs\/sha256:/.test(r.path) && (repo?.test(r.path) ?? true))
      .map((r) => r.path);

  it('a replica serves a hit with zero release blob downloads, and reuses bundles across replicas', async () => {
    const a = await replica();
    const id = await schematic(a, 'replica=one');
    const url = `/image/${id}/v1.10.6/initramfs-amd64.xz`;
    const built = await a.factory.app.inject({ method: 'GET', url });
    assert.equal(built.statusCode, 200, built.body);
    assert.ok(blobGets(0).length > 0, 'replica A pulled the release');

    const b = await replica();
    assert.equal(await schematic(b, 'replica=one'), id);
    const mark = proxy.requests.length;
    const hit = await b.factory.app.inject({ method: 'GET', url });
    assert.equal(hit.statusCode, 200, hit.body);
    assert.equal(sha256(hit.rawPayload), sha256(built.rawPayload));
    assert.equal(b.factory.runner.stats.builds, 0, 'B did not build');
    assert.deepEqual(blobGets(mark), [], 'no release blob downloaded for a hit');
    assert.ok(
      proxy.requests.slice(mark).some((r) => r.path.includes('/manifests/')),
      'the hit cost manifest requests',
    );

    // A new schematic on B: the extensions' bundles come from A's work through the shared cache.
    const other = await schematic(b, 'replica=two');
    const mark2 = proxy.requests.length;
    const res = await b.factory.app.inject({
      method: 'GET',
      url: `/image/${other}/v1.10.6/initramfs-amd64.xz`,
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(b.factory.runner.stats.builds, 1);
    const pulled = blobGets(mark2);
    assert.deepEqual(
      pulled.filter((p) => EXTENSIONS.some((e) => p.includes(`/${e}/`))),
      [],
      `no extension blob pulled: ${pulled.join(', ')}`,
    );
  });
});
