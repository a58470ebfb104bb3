/**
 * Regression tests of issue 11's HTTP findings, over real loopback sockets where the framework or
 * Node's HTTP parser is involved: framework errors through the one error hook (414/400/431/408 and
 * parser 400s with Server, X-Request-ID and nosniff, never echoing the URL), any Content-Type read
 * as the body, 405 with Allow, CORS (Vary, preflight headers), Retry-After on 503, idle timeouts
 * for bodies and responses, the connection cap, the shutdown grace period, expected refusals
 * logged without stacks, and the well-known empty schematic on a fresh factory.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildHttpApp, closeHttpApp } from '../../src/frontends/http/server.js';
import { FsSchematicStore } from '../../src/storage/fs-store.js';
import { SchematicService } from '../../src/storage/schematic-service.js';
import { after, before, describe, it } from 'node:test';
import { createFactory } from '../../src/factory.js';
import { validateConfig } from '../../src/config/load.js';
import { makeTestFactory, type TestFactory } from '../helpers/factory.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';

/** Sends raw bytes, returns everything the server wrote until it closed (or `waitMs` passed). */
function raw(port: number, bytes: string, waitMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    }, waitMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    s.write(bytes);
  });
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

function header(response: string, name: string): string | undefined {
  const head = response.split('\r\n\r\n')[0] ?? '';
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

function bodyOf(response: string): string {
  return response.split('\r\n\r\n').slice(1).join('\r\n\r\n');
}

/** Asserts the catalog's error stamp: Server, X-Request-ID, nosniff, text/plain. */
function assertStamped(response: string, status: number): void {
  assert.equal(statusOf(response), status, response.slice(0, 300));
  assert.match(header(response, 'server') ?? '', /^image-factory\//);
  assert.match(header(response, 'x-request-id') ?? '', /^[0-9a-f-]{36}$|^[A-Za-z0-9._:-]+$/);
  assert.equal(header(response, 'x-content-type-options'), 'nosniff');
  assert.match(header(response, 'content-type') ?? '', /^text\/plain/);
}

describe('framework and parser errors go through the error hook', { timeout: 60_000 }, () => {
  let t: TestFactory;
  let port: number;
  before(async () => {
    t = await makeTestFactory();
    port = (await t.factory.listen()).port;
  });
  after(() => t?.cleanup());

  it('a path segment of 120 or 8000 characters reaches the path grammar (400), not a 414', async () => {
    for (const n of [120, 8000]) {
      const seg = 'a'.repeat(n);
      const res = await raw(
        port,
        `GET /image/${EMPTY_ID}/v1.10.6/${seg} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assertStamped(res, 400);
      assert.match(bodyOf(res), /^error parsing profile from path: /);
      const idRes = await raw(
        port,
        `GET /schematics/${seg} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assertStamped(idRes, 404);
      assert.ok(!bodyOf(idRes).includes('FST_'), 'no framework codes');
    }
  });

  it('a malformed percent-encoding → 400 from the catalog, URL not echoed', async () => {
    const res = await raw(
      port,
      'GET /schematics/%zz-secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    assertStamped(res, 400);
    assert.equal(bodyOf(res), 'malformed URL: invalid percent-encoding\n');
    assert.ok(!res.includes('secret'));
  });

  it('oversized headers → 431 with the stamp', async () => {
    const res = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assertStamped(res, 431);
    assert.equal(bodyOf(res), 'request header fields are too large\n');
  });

  it('garbage on the wire → 400 with the stamp', async () => {
    const res = await raw(port, 'BLAH\x01 / HTTP/1.1\r\n\r\n');
    assertStamped(res, 400);
    assert.equal(bodyOf(res), 'malformed HTTP request\n');
  });

  it('any Content-Type on POST /schematics is read as the body (empty, `;`, `ü/ü`)', async () => {
    for (const ct of ['', ';', 'ü/ü', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      const body = 'customization: {}\n';
      const res = await raw(
        port,
        `POST /schematics HTTP/1.1\r\nHost: x\r\nContent-Type: ${ct}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      assert.equal(statusOf(res), 201, `Content-Type "${ct}": ${res.slice(0, 300)}`);
      assert.match(bodyOf(res), new RegExp(EMPTY_ID));
    }
  });

  it('wrong methods on known routes → 405 with Allow; OPTIONS → 204 with Allow; unknown → 404', async () => {
    const del = await t.factory.app.inject({ method: 'DELETE', url: '/schematics' });
    assert.equal(del.statusCode, 405);
    assert.equal(del.headers.allow, 'POST, OPTIONS');
    assert.equal(del.body, 'Method Not Allowed\n');
    assert.equal(del.headers['x-content-type-options'], 'nosniff');
    const put = await t.factory.app.inject({ method: 'PUT', url: `/image/${EMPTY_ID}/v1.10.6/kernel-amd64` });
    assert.equal(put.statusCode, 405);
    assert.equal(put.headers.allow, 'GET, HEAD, OPTIONS');
    const opt = await t.factory.app.inject({ method: 'OPTIONS', url: '/versions' });
    assert.equal(opt.statusCode, 204);
    assert.equal(opt.headers.allow, 'GET, HEAD, OPTIONS');
    const none = await t.factory.app.inject({ method: 'DELETE', url: '/nope' });
    assert.equal(none.statusCode, 404);
  });

  it('the empty schematic is served by a fresh factory without a POST', async () => {
    const res = await t.factory.app.inject({ method: 'GET', url: `/schematics/${EMPTY_ID}` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, 'customization: {}\n');
  });
});

describe('CORS with an origin allowlist, conditional requests, Retry-After', () => {
  let t: TestFactory;
  before(async () => {
    t = await makeTestFactory({ http: { allowedOrigins: ['https://ui.example'] } });
  });
  after(() => t?.cleanup());

  it('says Vary: Origin on every response, with or without an Origin', async () => {
    for (const headers of [{}, { origin: 'https://ui.example' }, { origin: 'https://evil.example' }]) {
      const res = await t.factory.app.inject({ method: 'GET', url: '/healthz', headers });
      assert.match(String(res.headers.vary), /Origin/, JSON.stringify(headers));
    }
  });

  it('preflights allow Range, If-None-Match, If-Range; responses expose Content-Range', async () => {
    const pre = await t.factory.app.inject({
      method: 'OPTIONS',
      url: `/image/${EMPTY_ID}/v1.10.6/kernel-amd64`,
      headers: {
        origin: 'https://ui.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'Range, If-None-Match, If-Range',
      },
    });
    assert.equal(pre.statusCode, 204);
    assert.equal(pre.headers['access-control-allow-headers'], 'range, if-none-match, if-range');
    const get = await t.factory.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { origin: 'https://ui.example' },
    });
    assert.match(String(get.headers['access-control-expose-headers']), /Content-Range/);
  });

  it('503 BUSY carries Retry-After', async () => {
    // A parse pool with no room: the queue bound is 0 and both workers are taken by slow bodies.
    const busy = await makeTestFactory({ schematics: { parseWorkers: 1, parseQueue: 0 } });
    try {
      const slow = `customization: {extraKernelArgs: [${'a,'.repeat(60_000)}]}`;
      const all = await Promise.all(
        [0, 1, 2].map((i) =>
          busy.factory.app.inject({ method: 'POST', url: '/schematics', payload: `${slow}${' '.repeat(i)}` }),
        ),
      );
      const refused = all.filter((r) => r.statusCode === 503);
      assert.ok(refused.length >= 1, all.map((r) => r.statusCode).join(','));
      for (const r of refused) assert.equal(r.headers['retry-after'], '1');
    } finally {
      await busy.cleanup();
    }
  });
});

/** An HTTP app (the factory's frontend) with one extra route streaming 256 MiB, listening. */
async function streamingApp(limits: { responseIdleTimeoutMs?: number }): Promise<FastifyInstance> {
  const dir = await mkdtemp(join(tmpdir(), 'if-test-'));
  const app = buildHttpApp({
    version: 'test',
    logLevel: 'silent',
    bodyLimit: 1024,
    requestTimeoutMs: 60_000,
    ...limits,
    allowedOrigins: ['*'],
    schematics: new SchematicService(new FsSchematicStore(dir)),
    ready: () => true,
    routes: [
      (a) =>
        a.get('/big', async (_req, reply) => {
          const chunk = Buffer.alloc(1 << 20, 0x61);
          async function* body() {
            for (let i = 0; i < 256; i++) yield chunk;
          }
          return reply.type('application/octet-stream').send(Readable.from(body()));
        }),
    ],
  });
  app.addHook('onClose', async () => rm(dir, { recursive: true, force: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  return app;
}

/**
 * Requests /big and stops reading for `stallMs`; then reads on. Resolves true when the connection
 * ends before the whole body arrived (the server cut it), false when all of it came.
 */
function stalledReaderIsCut(app: FastifyInstance, stallMs: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let received = 0;
    const s: Socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1', () => {
      s.write('GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      s.pause(); // a paused socket also does not see the close until it reads again
      setTimeout(() => s.resume(), stallMs);
    });
    s.on('data', (c: Buffer) => (received += c.length));
    s.on('close', () => resolve(received < 256 << 20));
    s.on('error', () => undefined);
  });
}

describe('idle timeouts, connection cap, shutdown grace', { timeout: 60_000 }, () => {
  it('a body that stalls → 408 after http.bodyIdleTimeout, connection closed', async () => {
    const t = await makeTestFactory({ http: { bodyIdleTimeout: '300ms' } });
    try {
      const { port } = await t.factory.listen();
      const t0 = Date.now();
      const res = await raw(
        port,
        'POST /schematics HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\ncustomization:',
      );
      assertStamped(res, 408);
      assert.match(bodyOf(res), /request body timeout/);
      assert.ok(Date.now() - t0 < 4000, 'cut long before the request timeout');
    } finally {
      await t.cleanup();
    }
  });

  it('a response the client does not read is cut after http.responseIdleTimeout', async () => {
    const app = await streamingApp({ responseIdleTimeoutMs: 300 });
    try {
      assert.ok(await stalledReaderIsCut(app, 2000), 'the server closed the stalled connection');
    } finally {
      await app.close();
    }
  });

  it('connections beyond http.maxConnections are refused at accept', async () => {
    const t = await makeTestFactory({ http: { maxConnections: 3 } });
    const sockets: Socket[] = [];
    try {
      const { port } = await t.factory.listen();
      for (let i = 0; i < 3; i++) {
        const s = connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        await new Promise((r) => s.once('connect', r));
        s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'); // slowloris: headers never end
        sockets.push(s);
      }
      await new Promise((r) => setTimeout(r, 100));
      const fourth = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 2000);
      assert.equal(fourth, '', 'the fourth connection is closed without an answer');
    } finally {
      for (const s of sockets) s.destroy();
      await t.cleanup();
    }
  });

  it('shutdown cuts a stalled download after the grace period (http.shutdownGracePeriod)', async () => {
    const app = await streamingApp({});
    const s = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    try {
      s.on('error', () => undefined);
      await new Promise((r) => s.once('connect', r));
      s.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
      s.pause();
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      await closeHttpApp(app, 500);
      const took = Date.now() - t0;
      assert.ok(took >= 400 && took < 5000, `close took ${took} ms`);
    } finally {
      s.destroy();
    }
  });
});

describe('expected refusals are logged below error level, without stacks', () => {
  it('logs 4xx at info and 501/503 at warn, faults at error', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'if-test-'));
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean))
          lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const cfg = validateConfig({ dataDir, log: { level: 'info' }, http: { listen: '127.0.0.1:0' } });
    const f = await createFactory(cfg, { logStream: sink });
    try {
      await f.app.inject({ method: 'GET', url: `/schematics/${'b'.repeat(64)}` });
      await f.app.inject({ method: 'GET', url: `/image/${EMPTY_ID}/v1.10.6/kernel-amd64.sigstore.json` });
      const rejected = lines.filter((l) => l.msg === 'request rejected' || l.msg === 'request refused');
      assert.ok(rejected.length >= 1, JSON.stringify(lines.slice(-5)));
      for (const l of rejected) {
        assert.ok(Number(l.level) < 50, `level ${String(l.level)}`);
        assert.equal(JSON.stringify(l).includes('    at '), false, 'no stack trace');
      }
    } finally {
      await f.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
