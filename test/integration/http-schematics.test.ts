/** The schematic routes in-process (Fastify inject): status codes, bodies, headers, error mapping. */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeTestFactory, type TestFactory } from '../helpers/factory.js';

const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const NOLAPIC_ID = 'e0fb1129bbbdfb5d002e94af4cdce712a8370e850950a33a242d4c3f178c532d';

describe('schematic routes', () => {
  let t: TestFactory;
  before(async () => {
    t = await makeTestFactory({ http: { bodyLimit: 1024 } });
  });
  after(() => t.cleanup());

  const post = (url: string, payload: string, headers: Record<string, string> = {}) =>
    t.factory.app.inject({
      method: 'POST',
      url,
      payload,
      headers: { 'content-type': 'application/yaml', ...headers },
    });

  it('POST /schematics creates the empty schematic with the upstream ID', async () => {
    const res = await post('/schematics', 'customization: {}\n');
    assert.equal(res.statusCode, 201);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.equal(res.body, `{"id":"${EMPTY_ID}","schematic":"customization: {}\\n"}\n`);
  });

  it('POST /flavor answers {"id"} only, same ID rules (b730f09 integration vector)', async () => {
    const res = await post('/flavor', 'customization:\n  extraKernelArgs: [nolapic, nomodeset]\n');
    assert.equal(res.statusCode, 201);
    assert.equal(res.body, `{"id":"${NOLAPIC_ID}"}\n`);
  });

  it('is idempotent and ignores Content-Type (JSON body gives the same ID)', async () => {
    const a = await post('/schematics', '{"customization":{"extraKernelArgs":["nolapic","nomodeset"]}}', {
      'content-type': 'application/json',
    });
    const b = await post('/schematics', '{"customization":{"extraKernelArgs":["nolapic","nomodeset"]}}', {
      'content-type': 'text/plain',
    });
    assert.equal(a.statusCode, 201);
    assert.equal(a.json().id, NOLAPIC_ID);
    assert.equal(b.json().id, NOLAPIC_ID);
  });

  it('50 concurrent identical POSTs all answer 201 with one ID and store one file', async () => {
    const body = 'customization:\n  extraKernelArgs: [concurrent=1]\n';
    const all = await Promise.all(Array.from({ length: 50 }, () => post('/schematics', body)));
    assert.ok(all.every((r) => r.statusCode === 201));
    const ids = new Set(all.map((r) => (r.json() as { id: string }).id));
    assert.equal(ids.size, 1);
    const [id] = [...ids] as [string];
    const files = await readdir(join(t.dataDir, 'schematics', id.slice(0, 2)));
    assert.deepEqual(
      files.filter((f) => f.includes(id)),
      [`${id}.yaml`],
      'one file, no temp leftovers',
    );
  });

  it('GET /schematics/:id returns the canonical bytes as application/yaml', async () => {
    await post('/schematics', '{}');
    const res = await t.factory.app.inject({ method: 'GET', url: `/schematics/${EMPTY_ID}` });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/yaml/);
    assert.equal(res.body, 'customization: {}\n');
  });

  it('unknown and malformed IDs → 404 naming the ID', async () => {
    for (const id of ['a'.repeat(64), 'aaaaaaaaaaaa', 'Z'.repeat(64)]) {
      const res = await t.factory.app.inject({ method: 'GET', url: `/schematics/${id}` });
      assert.equal(res.statusCode, 404);
      assert.equal(res.body, `schematic ID "${id}" not found\n`);
      assert.match(String(res.headers['content-type']), /^text\/plain/);
    }
  });

  it('invalid body → 400 naming line and field', async () => {
    const res = await post('/schematics', 'something:');
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /line 1/);
    assert.match(res.body, /something/);
  });

  it('empty body → 400', async () => {
    const res = await t.factory.app.inject({ method: 'POST', url: '/schematics' });
    assert.equal(res.statusCode, 400);
  });

  it('owner is rejected in this edition', async () => {
    const res = await post('/schematics', 'owner: alice\n');
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /owner/);
  });

  it('body over the configured limit → 413', async () => {
    const res = await post('/schematics', `customization:\n  extraKernelArgs: ["${'x'.repeat(2000)}"]\n`);
    assert.equal(res.statusCode, 413);
    assert.match(res.body, /too large/);
  });

  it('errors come as JSON {code,message} when asked', async () => {
    const res = await t.factory.app.inject({
      method: 'GET',
      url: `/schematics/${'b'.repeat(64)}`,
      headers: { accept: 'application/json' },
    });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), {
      code: 'SCHEMATIC_NOT_FOUND',
      message: `schematic ID "${'b'.repeat(64)}" not found`,
    });
  });

  it('sets Server and echoes or generates X-Request-ID', async () => {
    const echoed = await t.factory.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'abc-123' },
    });
    assert.equal(echoed.headers['x-request-id'], 'abc-123');
    assert.match(String(echoed.headers.server), /^image-factory\/\d+\.\d+\.\d+/);
    const generated = await t.factory.app.inject({ method: 'GET', url: '/healthz' });
    assert.match(String(generated.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    const hostile = await t.factory.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'a b\u0001' },
    });
    assert.notEqual(hostile.headers['x-request-id'], 'a b\u0001');
  });

  it('/healthz and /readyz answer 200', async () => {
    assert.equal((await t.factory.app.inject('/healthz')).statusCode, 200);
    assert.equal((await t.factory.app.inject('/readyz')).statusCode, 200);
  });

  it('unknown routes → 404 page not found', async () => {
    const res = await t.factory.app.inject('/nope');
    assert.equal(res.statusCode, 404);
    assert.equal(res.body, '404 page not found\n');
  });

  it('CORS: simple request and preflight', async () => {
    const simple = await t.factory.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { origin: 'https://x.example' },
    });
    assert.equal(simple.headers['access-control-allow-origin'], '*');
    assert.match(String(simple.headers['access-control-expose-headers']), /Content-Disposition/);
    const pre = await t.factory.app.inject({
      method: 'OPTIONS',
      url: '/image/x/v1.5.0/metal-amd64.iso',
      headers: {
        origin: 'https://x.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'Cache-Control',
      },
    });
    assert.equal(pre.statusCode, 204);
    assert.equal(pre.headers['access-control-allow-methods'], 'GET');
    assert.equal(pre.headers['access-control-allow-headers'], 'cache-control');
  });
});
