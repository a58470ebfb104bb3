/**
 * The factory behind real Debian nginx (`http.accelRedirect`): a cache hit on the asset route and
 * on registry blobs is answered with the factory's headers and `X-Accel-Redirect`, and nginx sends
 * the bytes (sendfile) — Range, If-Range, If-None-Match, HEAD and download names included; a miss
 * still builds; the internal location is not reachable from outside; clients talking to the
 * factory directly still get the bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';
import type { TestFactory } from '../helpers/factory.js';
import { startNginxFront, type NginxFront } from '../helpers/nginx-front.js';

const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const PREFIX = '/_factory';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(url, { method, headers });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body };
}

describe('behind nginx (X-Accel-Redirect)', { timeout: 300_000 }, () => {
  let t: TestFactory;
  let nginx: NginxFront;
  let direct: string;
  before(async () => {
    ({ t } = await makeFixtureFactory({ http: { listen: '127.0.0.1:0', accelRedirect: PREFIX } }));
    const { port } = await t.factory.listen();
    direct = `http://127.0.0.1:${port}`;
    nginx = await startNginxFront({ upstream: `127.0.0.1:${port}`, prefix: PREFIX, dataDir: t.dataDir });
  });
  after(async () => {
    await nginx?.stop();
    await t?.cleanup();
  });

  const kernel = `/image/${EMPTY_ID}/v1.10.6/kernel-amd64`;
  let whole: Buffer;
  let etag: string;

  it('a miss builds through nginx; the hit is sent by nginx with the factory headers', async () => {
    const built = await get(`${nginx.url}/image/${EMPTY_ID}/v1.8.3/kernel-amd64`);
    assert.equal(built.status, 200, built.body.toString());
    assert.equal(built.headers.get('etag'), `"${sha256(built.body)}"`);
    assert.equal(t.factory.runner.stats.builds, 1, 'the miss was built');

    const first = await get(`${nginx.url}${kernel}`);
    assert.equal(first.status, 200);
    whole = first.body;
    etag = `"${sha256(whole)}"`;
    const hit = await get(`${nginx.url}${kernel}`);
    assert.equal(hit.status, 200);
    assert.ok(hit.body.equals(whole));
    assert.equal(hit.headers.get('etag'), etag);
    assert.equal(hit.headers.get('content-length'), String(whole.length));
    assert.equal(hit.headers.get('content-type'), 'application/octet-stream');
    assert.equal(hit.headers.get('content-disposition'), 'attachment; filename="kernel-amd64"');
    assert.equal(hit.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(hit.headers.get('accept-ranges'), 'bytes');
    assert.match(hit.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(hit.headers.get('x-accel-redirect'), null, 'nginx does not pass the redirect on');
    assert.equal(hit.headers.get('last-modified'), null, 'only the factory validator');
    assert.match(hit.headers.get('server') ?? '', /^nginx/, 'nginx sent the bytes');
  });

  it('the factory answers a hit with headers and X-Accel-Redirect only when nginx asks', async () => {
    const accel = await get(`${direct}${kernel}`, { 'x-sendfile-type': 'X-Accel-Redirect' });
    assert.equal(accel.status, 200);
    assert.equal(accel.body.length, 0);
    assert.equal(accel.headers.get('content-length'), '0');
    assert.equal(accel.headers.get('x-accel-redirect'), `${PREFIX}/assets/blobs/${etag.slice(1, -1)}`);
    assert.equal(accel.headers.get('etag'), etag);
    const plain = await get(`${direct}${kernel}`);
    assert.ok(plain.body.equals(whole), 'a direct client gets the bytes');
    assert.equal(plain.headers.get('x-accel-redirect'), null);
  });

  it('Range, If-Range, suffix ranges and 416 through nginx', async () => {
    const part = await get(`${nginx.url}${kernel}`, { range: 'bytes=100-4195' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-4195/${whole.length}`);
    assert.ok(part.body.equals(whole.subarray(100, 4196)));
    const tail = await get(`${nginx.url}${kernel}`, { range: 'bytes=-10' });
    assert.equal(tail.status, 206);
    assert.ok(tail.body.equals(whole.subarray(whole.length - 10)));
    const resumed = await get(`${nginx.url}${kernel}`, { range: 'bytes=1000-', 'if-range': etag });
    assert.equal(resumed.status, 206);
    assert.ok(resumed.body.equals(whole.subarray(1000)));
    const changed = await get(`${nginx.url}${kernel}`, { range: 'bytes=1000-', 'if-range': '"other"' });
    assert.equal(changed.status, 200, 'a different version: the whole asset');
    assert.ok(changed.body.equals(whole));
    const beyond = await get(`${nginx.url}${kernel}`, { range: `bytes=${whole.length}-` });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get('content-range'), `bytes */${whole.length}`);
  });

  it('If-None-Match → 304, If-Match (Node sends it) → 200 or 412, HEAD, ?filename=', async () => {
    const cached = await get(`${nginx.url}${kernel}`, { 'if-none-match': etag });
    assert.equal(cached.status, 304);
    assert.equal(cached.body.length, 0);
    assert.equal(cached.headers.get('etag'), etag);
    const other = await get(`${nginx.url}${kernel}`, { 'if-none-match': '"other"' });
    assert.equal(other.status, 200);
    assert.ok(other.body.equals(whole));
    const match = await get(`${nginx.url}${kernel}`, { 'if-match': etag });
    assert.equal(match.status, 200);
    assert.ok(match.body.equals(whole));
    const noMatch = await get(`${nginx.url}${kernel}`, { 'if-match': '"other"' });
    assert.equal(noMatch.status, 412);
    const head = await get(`${nginx.url}${kernel}`, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(whole.length));
    assert.equal(head.headers.get('etag'), etag);
    assert.equal(head.body.length, 0);
    const cors = await get(`${nginx.url}${kernel}`, { origin: 'https://example.org' }, 'HEAD');
    assert.equal(cors.headers.get('access-control-allow-origin'), '*');
    assert.match(cors.headers.get('access-control-expose-headers') ?? '', /ETag/);
    const named = await get(`${nginx.url}${kernel}?filename=vmlinuz-talos`);
    assert.equal(named.headers.get('content-disposition'), 'attachment; filename="vmlinuz-talos"');
    assert.ok(named.body.equals(whole));
    const sum = await get(`${nginx.url}${kernel}.sha256`);
    assert.equal(sum.status, 200);
    assert.equal(sum.body.toString(), `${etag.slice(1, -1)}  kernel-amd64\n`);
  });

  it('the internal location is not reachable directly', async () => {
    for (const path of [
      `${PREFIX}/assets/blobs/${etag.slice(1, -1)}`,
      `${PREFIX}/`,
      `${PREFIX}/schematics/`,
      `/${PREFIX.slice(1)}%2fassets/blobs/${etag.slice(1, -1)}`,
    ]) {
      const res = await get(`${nginx.url}${path}`);
      assert.notEqual(res.status, 200, path);
      assert.ok(!res.body.equals(whole), path);
    }
  });

  it('registry blobs (source proxy) take the same path, with Docker-Content-Digest', async () => {
    const index = await get(`${nginx.url}/v2/siderolabs/imager/manifests/v1.10.6`, {
      accept: 'application/vnd.oci.image.index.v1+json',
    });
    assert.equal(index.status, 200, index.body.toString());
    const { manifests } = JSON.parse(index.body.toString()) as { manifests: { digest: string }[] };
    const manifest = await get(`${nginx.url}/v2/siderolabs/imager/manifests/${manifests[0]!.digest}`, {
      accept: 'application/vnd.oci.image.manifest.v1+json',
    });
    const { layers } = JSON.parse(manifest.body.toString()) as { layers: { digest: string; size: number }[] };
    const layer = layers[0]!;
    const viaAccel = await get(`${direct}/v2/siderolabs/imager/blobs/${layer.digest}`, {
      'x-sendfile-type': 'X-Accel-Redirect',
    });
    assert.match(viaAccel.headers.get('x-accel-redirect') ?? '', new RegExp(`^${PREFIX}/cache/`));
    const blob = await get(`${nginx.url}/v2/siderolabs/imager/blobs/${layer.digest}`);
    assert.equal(blob.status, 200);
    assert.equal(`sha256:${sha256(blob.body)}`, layer.digest);
    assert.equal(blob.body.length, layer.size);
    assert.equal(blob.headers.get('docker-content-digest'), layer.digest);
    assert.equal(blob.headers.get('docker-distribution-api-version'), 'registry/2.0');
    const part = await get(`${nginx.url}/v2/siderolabs/imager/blobs/${layer.digest}`, {
      range: 'bytes=0-99',
    });
    assert.equal(part.status, 206);
    assert.ok(part.body.equals(blob.body.subarray(0, 100)));
    assert.equal(await nginx.errors().then((l) => l.includes('[crit]') || l.includes('[alert]')), false);
  });
});
