/**
 * Release-source faults through the whole factory: a registry that answers 500 then recovers, a
 * truncated blob, a corrupted blob (digest mismatch), and an auth failure. Each gives a clear
 * error; nothing corrupt is cached; the next request works.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OciClient, staticCredentials } from '../../src/oci/index.js';
import { importIntoRegistry } from '../../src/release/registry-import.js';
import { publishFixtures } from '../fixtures/publish.js';
import { makeTestFactory, type TestFactory } from '../helpers/factory.js';
import { fixtureReleases } from '../helpers/fixture-factory.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';

const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';

describe('release faults through the factory', { timeout: 600_000 }, () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let t: TestFactory;
  before(async () => {
    const fx = await fixtureReleases();
    registry = await startRegistry();
    await publishFixtures(fx.root, registry.host);
    proxy = await startFaultProxy(registry.url);
    t = await makeTestFactory({
      artifacts: { source: 'registry', core: { registry: proxy.host, insecure: true }, retries: 1 },
    });
    await t.factory.app.inject({ method: 'POST', url: '/schematics', payload: '{}' });
  });
  after(async () => {
    await t?.cleanup();
    await proxy?.stop();
    await registry?.stop();
  });

  const inject = (url: string) => t.factory.app.inject({ method: 'GET', url });

  it('500s beyond the retry budget → 502 with the registry status; then it recovers', async () => {
    proxy.inject({
      path: /\/tags\/list/,
      fault: { kind: 'status', status: 500, body: '{"errors":[{"code":"UNKNOWN","message":"boom"}]}' },
      times: 2,
    });
    const res = await inject('/versions');
    assert.equal(res.statusCode, 502);
    assert.match(res.body, /500/);
    assert.match(res.body, new RegExp(proxy.host.replace(/\./g, '\\.')));
    const again = await inject('/versions');
    assert.equal(again.statusCode, 200, again.body);
    assert.ok((again.json() as string[]).includes('v1.10.6'));
  });

  it('one 500 is retried transparently', async () => {
    proxy.inject({ path: /\/manifests\//, fault: { kind: 'status', status: 503 }, times: 1 });
    const res = await inject('/version/v1.8.3/extensions/official');
    assert.equal(res.statusCode, 200, res.body);
  });

  async function blobFiles(): Promise<string[]> {
    const dir = join(t.dataDir, 'cache', 'blobs', 'sha256');
    return (await readdir(dir).catch(() => [])).filter((f) => !f.startsWith('.'));
  }

  it('a truncated blob fails the request, leaves nothing behind, and the next request works', async () => {
    proxy.inject({ path: /\/blobs\/sha256:/, fault: { kind: 'truncate', afterBytes: 1000 }, times: 50 });
    const res = await inject(`/image/${EMPTY_ID}/v1.5.5/kernel-amd64`);
    proxy.clear();
    assert.ok(res.statusCode >= 500 && res.statusCode < 600, `${res.statusCode} ${res.body}`);
    // Small layers may have completed before the cut: whatever was kept must be whole and verified.
    for (const hex of await blobFiles()) {
      const bytes = await readFile(join(t.dataDir, 'cache', 'blobs', 'sha256', hex));
      assert.equal(createHash('sha256').update(bytes).digest('hex'), hex, 'no partial blob kept');
    }
    const ok = await inject(`/image/${EMPTY_ID}/v1.5.5/kernel-amd64`);
    assert.equal(ok.statusCode, 200, ok.body);
  });

  it('a corrupted blob is a digest mismatch naming the digest; nothing corrupt is cached', async () => {
    proxy.inject({ path: /\/blobs\/sha256:/, fault: { kind: 'corrupt', offset: 200 }, times: 1 });
    const res = await inject(`/image/${EMPTY_ID}/v1.8.3/kernel-amd64`);
    assert.equal(res.statusCode, 502, res.body);
    assert.match(res.body, /sha256:[a-f0-9]{64}/);
    const ok = await inject(`/image/${EMPTY_ID}/v1.8.3/kernel-amd64`);
    assert.equal(ok.statusCode, 200, ok.body);
  });
});

describe('release registry with authentication', { timeout: 600_000 }, () => {
  let registry: RunningRegistry;
  let dockerConfig: string;
  before(async () => {
    const fx = await fixtureReleases();
    registry = await startRegistry({ auth: 'htpasswd' });
    dockerConfig = await mkdtemp(join(tmpdir(), 'if-dockercfg-'));
    const auth = Buffer.from('tester:tester-password').toString('base64');
    await writeFile(
      join(dockerConfig, 'config.json'),
      JSON.stringify({ auths: { [registry.host]: { auth } } }),
    );
    process.env.DOCKER_CONFIG = dockerConfig;
    // Published with our own import path and credentials (skopeo here has no test creds).
    const client = new OciClient({
      hosts: { [registry.host]: { insecure: true } },
      credentials: staticCredentials({
        [registry.host]: { username: 'tester', password: 'tester-password' },
      }),
    });
    await importIntoRegistry(client, fx.root, registry.host, '');
  });
  after(async () => {
    delete process.env.DOCKER_CONFIG;
    await registry?.stop();
    await rm(dockerConfig, { recursive: true, force: true });
  });

  it('without credentials → 502 naming the auth failure; with docker config.json credentials → 200', async () => {
    process.env.DOCKER_CONFIG = join(dockerConfig, 'nowhere');
    const anon = await makeTestFactory({
      artifacts: { source: 'registry', core: { registry: registry.host, insecure: true } },
    });
    try {
      const res = await anon.factory.app.inject('/versions');
      assert.equal(res.statusCode, 502);
      assert.match(res.body, /requires credentials/);
    } finally {
      await anon.cleanup();
    }
    process.env.DOCKER_CONFIG = dockerConfig;
    const authed = await makeTestFactory({
      artifacts: { source: 'registry', core: { registry: registry.host, insecure: true } },
    });
    try {
      const res = await authed.factory.app.inject('/versions');
      assert.equal(res.statusCode, 200, res.body);
    } finally {
      await authed.cleanup();
    }
  });
});
