// Failure behaviour of the OCI client: a fault-injecting proxy in front of the real registry
// produces 5xx, 429, truncated and corrupted bodies, stalls; retries are observed through an
// injected sleep (delays recorded, never waited for real).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { isFactoryError } from '../../src/errors.js';
import {
  buildImageManifest,
  EMPTY_CONFIG_DESCRIPTOR,
  EMPTY_JSON,
  OciClient,
  type OciClientOptions,
  sha256Digest,
} from '../../src/oci/index.js';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';
import { freePort, type RunningRegistry, startRegistry } from '../helpers/registry.js';
import { expectCode } from '../helpers/assert-error.js';

const TIMEOUT = { timeout: 30_000 };

describe('OciClient under injected faults', TIMEOUT, () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let work: string;
  let sleeps: number[];
  let client: OciClient;
  const blob = randomBytes(200_000);
  const blobDigest = sha256Digest(blob);
  let manifestDigest: string;

  const makeClient = (extra: OciClientOptions = {}): OciClient =>
    new OciClient({
      hosts: { [proxy.host]: { insecure: true } },
      retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000 },
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      random: () => 0.5,
      ...extra,
    });
  const repo = (): string => `${proxy.host}/faults/app`;

  before(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    work = await mkdtemp(join(tmpdir(), 'oci-faults-'));
    sleeps = [];
    const direct = new OciClient({ hosts: { [registry.host]: { insecure: true } } });
    await direct.pushBlob(`${registry.host}/faults/app`, blob);
    await direct.pushBlob(`${registry.host}/faults/app`, EMPTY_JSON);
    const built = buildImageManifest({
      config: EMPTY_CONFIG_DESCRIPTOR,
      layers: [{ mediaType: 'application/octet-stream', digest: blobDigest, size: blob.length }],
      annotations: { padding: 'x'.repeat(6000) },
    });
    manifestDigest = (
      await direct.pushManifest(`${registry.host}/faults/app`, 'v1', built.bytes, built.mediaType)
    ).digest;
  });
  beforeEach(() => {
    proxy.clear();
    proxy.requests.length = 0;
    sleeps = [];
    client = makeClient();
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('500 twice, then success; backoff doubles', async () => {
    proxy.inject({ method: 'GET', path: /\/manifests\//, fault: { kind: 'status', status: 500 }, times: 2 });
    const got = await client.getManifest(repo(), 'v1');
    assert.equal(got.digest, manifestDigest);
    assert.deepEqual(
      proxy.requests.map((r) => r.status),
      [500, 500, 200],
    );
    assert.deepEqual(sleeps, [75, 150]);
  });

  test('persistent 503 → UPSTREAM_UNAVAILABLE with status and error JSON after bounded attempts', async () => {
    proxy.inject({
      fault: {
        kind: 'status',
        status: 503,
        body: '{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}',
      },
    });
    await expectCode(
      client.getManifest(repo(), 'v1'),
      'UPSTREAM_UNAVAILABLE',
      proxy.host,
      'HTTP 503',
      'maintenance',
      'faults/app:v1',
      'after 3 attempts',
    );
    assert.equal(proxy.requests.length, 3);
  });

  test('429 honours Retry-After', async () => {
    proxy.inject({ fault: { kind: 'status', status: 429, headers: { 'retry-after': '2' } }, times: 1 });
    assert.equal((await client.resolve(`${repo()}:v1`)).digest, manifestDigest);
    assert.deepEqual(sleeps, [2000]);
  });

  test('4xx other than 401/429 is not retried', async () => {
    proxy.inject({ fault: { kind: 'status', status: 400, body: '{"errors":[{"code":"NAME_INVALID"}]}' } });
    await expectCode(client.getManifest(repo(), 'v1'), 'UPSTREAM_UNAVAILABLE', 'HTTP 400', 'NAME_INVALID');
    assert.equal(proxy.requests.length, 1);
    assert.deepEqual(sleeps, []);
    proxy.clear();
    await expectCode(client.getManifest(repo(), 'v404'), 'NOT_FOUND', 'faults/app:v404');
    assert.equal(proxy.requests.length, 2);
  });

  test('truncated blob: error, nothing kept; a later download works', async () => {
    proxy.inject({ method: 'GET', path: /\/blobs\//, fault: { kind: 'truncate', afterBytes: 50_000 } });
    const dest = join(work, 'truncated', 'blob.bin');
    await expectCode(
      client.downloadBlob(repo(), blobDigest, dest),
      'UPSTREAM_UNAVAILABLE',
      proxy.host,
      blobDigest,
      'tried 3 times',
    );
    assert.deepEqual(await readdir(join(work, 'truncated')), []);
    assert.equal(
      proxy.requests.filter((r) => r.fault === 'truncate').length,
      3,
      'the whole download is restarted per the retry policy',
    );
    proxy.clear();
    await client.downloadBlob(repo(), blobDigest, dest);
    assert.deepEqual(await readFile(dest), blob);
  });

  test('one truncation is healed by restarting the download', async () => {
    proxy.inject({
      method: 'GET',
      path: /\/blobs\//,
      fault: { kind: 'truncate', afterBytes: 1000 },
      times: 1,
    });
    const dest = join(work, 'healed', 'blob.bin');
    await client.downloadBlob(repo(), blobDigest, dest);
    assert.deepEqual(await readFile(dest), blob);
    assert.deepEqual(await readdir(join(work, 'healed')), ['blob.bin']);
  });

  test('corrupted byte → DIGEST_MISMATCH naming both digests and the repo; nothing kept, no retry', async () => {
    proxy.inject({ method: 'GET', path: /\/blobs\//, fault: { kind: 'corrupt', offset: 123_456 } });
    const corrupted = Buffer.from(blob);
    corrupted[123_456] = (corrupted[123_456] ?? 0) ^ 0xff;
    const dest = join(work, 'corrupt', 'blob.bin');
    await expectCode(
      client.downloadBlob(repo(), blobDigest, dest),
      'DIGEST_MISMATCH',
      blobDigest,
      sha256Digest(corrupted),
      'faults/app',
    );
    assert.deepEqual(await readdir(join(work, 'corrupt')), []);
    assert.equal(proxy.requests.length, 1);

    // The stream form delivers the bytes, then fails at the end.
    const stream = await client.getBlob(repo(), blobDigest);
    let received = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) received += (chunk as Buffer).length;
      })(),
      (e: unknown) => isFactoryError(e, 'DIGEST_MISMATCH'),
    );
    assert.equal(received, blob.length);
  });

  test('manifest above the cap → MANIFEST_TOO_LARGE (declared and undeclared length)', async () => {
    const small = makeClient({ maxManifestBytes: 4096 });
    await expectCode(small.getManifest(repo(), 'v1'), 'MANIFEST_TOO_LARGE', 'faults/app:v1', '4096');
    await expectCode(small.resolve(`${repo()}:v1`), 'MANIFEST_TOO_LARGE');
    proxy.inject({ method: 'GET', fault: { kind: 'strip-length' } });
    await expectCode(small.getManifest(repo(), 'v1'), 'MANIFEST_TOO_LARGE', 'more than 4096');
  });

  test('stalled response → UPSTREAM_TIMEOUT; caller abort → the abort reason', async () => {
    proxy.inject({ fault: { kind: 'hang' } });
    const impatient = makeClient({ timeoutMs: 200, retry: { maxAttempts: 2, baseDelayMs: 1 } });
    await expectCode(
      impatient.getManifest(repo(), 'v1'),
      'UPSTREAM_TIMEOUT',
      proxy.host,
      '200 ms',
      'after 2 attempts',
    );
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const pending = client.getManifest(repo(), 'v1', { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(pending, (e: unknown) => e === reason);
  });

  test('body stalling mid-transfer → UPSTREAM_TIMEOUT (idle timeout), nothing kept', async () => {
    proxy.inject({ method: 'GET', path: /\/blobs\//, fault: { kind: 'stall', afterBytes: 10_000 } });
    const impatient = makeClient({ timeoutMs: 200, retry: { maxAttempts: 2, baseDelayMs: 1 } });
    const dest = join(work, 'stalled', 'blob.bin');
    await expectCode(
      impatient.downloadBlob(repo(), blobDigest, dest),
      'UPSTREAM_TIMEOUT',
      '200 ms',
      blobDigest,
      'tried 2 times',
    );
    assert.deepEqual(await readdir(join(work, 'stalled')), []);
  });

  test('registry down (closed port) → UPSTREAM_UNAVAILABLE naming the host', async () => {
    const port = await freePort();
    const down = new OciClient({
      hosts: { [`127.0.0.1:${port}`]: { insecure: true } },
      retry: { maxAttempts: 3, baseDelayMs: 1 },
      sleep: (ms) => (sleeps.push(ms), Promise.resolve()),
    });
    await expectCode(
      down.getManifest(`127.0.0.1:${port}/faults/app`, 'v1'),
      'UPSTREAM_UNAVAILABLE',
      `127.0.0.1:${port}`,
      'ECONNREFUSED',
      'after 3 attempts',
    );
    assert.equal(sleeps.length, 2);
  });

  test('chunked upload restarts its session after a failed PATCH', async () => {
    proxy.inject({ method: 'PATCH', fault: { kind: 'status', status: 502 }, times: 1 });
    const data = randomBytes(150_000);
    const pushed = await client.pushBlob(`${proxy.host}/faults/upload`, data, {
      chunked: true,
      chunkSize: 40_000,
    });
    assert.equal(pushed.outcome, 'uploaded');
    const methods = proxy.requests.map((r) => `${r.method} ${r.status}`);
    assert.deepEqual(methods, [
      'HEAD 404',
      'POST 202',
      'PATCH 502',
      'POST 202',
      'PATCH 202',
      'PATCH 202',
      'PATCH 202',
      'PATCH 202',
      'PUT 201',
    ]);
    assert.deepEqual(await client.getBlobBytes(`${proxy.host}/faults/upload`, pushed.digest), data);
  });
});
