/**
 * Runs the AssetCache contract against the registry cache on a real docker-registry (with and
 * without the local spool), plus registry-specific behaviour: the entry image as skopeo sees it,
 * chunked uploads, replicas, unusable entries, corruption, the spool bound, outages and auth.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { AssetCache } from '../../src/cache/asset-cache.js';
import {
  ASSET_ARTIFACT_TYPE,
  ASSET_LAYER_MEDIA_TYPE,
  SHA512_ANNOTATION,
} from '../../src/cache/asset-layout.js';
import { RegistryAssetCache, type RegistryAssetCacheOptions } from '../../src/cache/registry-cache.js';
import { isFactoryError } from '../../src/errors.js';
import {
  EMPTY_CONFIG_DESCRIPTOR,
  EMPTY_JSON,
  OCI_EMPTY,
  OCI_MANIFEST,
  OciClient,
  type OciClientOptions,
  staticCredentials,
} from '../../src/oci/index.js';
import type { Logger } from '../../src/util/logger.js';
import { freePort, type RunningRegistry, startRegistry } from '../helpers/registry.js';
import { runAssetCacheContract } from './asset-cache.contract.js';

const run = promisify(execFile);
const TIMEOUT = { timeout: 40_000 };
const REPO_PATH = 'siderolabs/image-factory/cache';

/** Where distribution 2.8's filesystem driver keeps a blob's bytes. */
function blobDataPath(registry: RunningRegistry, hex: string): string {
  return join(registry.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

/** Flips two bytes in place (same size, so only the digest check can notice). */
async function flipBytes(path: string, at = 10): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const buf = Buffer.alloc(2);
    await fh.read(buf, 0, 2, at);
    await fh.write(Buffer.from([buf[0]! ^ 0xff, buf[1]! ^ 0xff]), 0, 2, at);
  } finally {
    await fh.close();
  }
}

function makeClient(registry: RunningRegistry, extra: OciClientOptions = {}): OciClient {
  return new OciClient({
    hosts: { [registry.host]: { insecure: true } },
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...extra,
  });
}

/** A client that counts requests by `METHOD kind` (kind = blobs, manifests, uploads). */
function countingClient(registry: RunningRegistry, extra: OciClientOptions = {}) {
  const counts = new Map<string, number>();
  const client = makeClient(registry, {
    ...extra,
    fetch: (url, init) => {
      const path = new URL(String(url)).pathname;
      const kind = path.includes('/blobs/uploads/')
        ? 'uploads'
        : path.includes('/blobs/')
          ? 'blobs'
          : 'manifests';
      const label = `${init?.method ?? 'GET'} ${kind}`;
      counts.set(label, (counts.get(label) ?? 0) + 1);
      return globalThis.fetch(url, init);
    },
  });
  return { client, count: (label: string): number => counts.get(label) ?? 0 };
}

function recordingLogger(): Logger & { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  return {
    errors,
    warnings,
    info() {},
    debug() {},
    warn: (obj, msg) => warnings.push(`${msg ?? ''} ${JSON.stringify(obj)}`),
    error: (obj, msg) => errors.push(`${msg ?? ''} ${JSON.stringify(obj)}`),
  };
}

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const randomKey = (): string => randomBytes(32).toString('hex');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const sha512 = (b: Buffer): string => createHash('sha512').update(b).digest('hex');

/** Scratch directories removed by `cleanup`. */
function scratch() {
  const dirs: string[] = [];
  return {
    dir: async (): Promise<string> => {
      const d = await mkdtemp(join(tmpdir(), 'if-regcache-'));
      dirs.push(d);
      return d;
    },
    file: async (bytes: Buffer): Promise<string> => {
      const d = await mkdtemp(join(tmpdir(), 'if-regcache-'));
      dirs.push(d);
      const p = join(d, 'asset.bin');
      await writeFile(p, bytes);
      return p;
    },
    cleanup: async (): Promise<void> => {
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

for (const [name, spoolMaxBytes] of [
  ['registry', undefined],
  ['registry (no local spool)', 0],
] as const) {
  runAssetCacheContract(name, async () => {
    const registry = await startRegistry();
    const tmp = scratch();
    const make = async (): Promise<AssetCache> =>
      new RegistryAssetCache({
        client: makeClient(registry),
        repository: `${registry.host}/${REPO_PATH}`,
        spoolDir: await tmp.dir(),
        ...(spoolMaxBytes === undefined ? {} : { spoolMaxBytes }),
      });
    return {
      cache: await make(),
      reopen: make,
      corrupt: (hex) => flipBytes(blobDataPath(registry, hex)),
      cleanup: async () => {
        await registry.stop();
        await tmp.cleanup();
      },
    };
  });
}

describe('RegistryAssetCache on docker-registry 2.8', TIMEOUT, () => {
  let registry: RunningRegistry;
  let repo: string;
  const tmp = scratch();
  const cacheFor = async (
    client: OciClient,
    extra: Partial<RegistryAssetCacheOptions> = {},
  ): Promise<RegistryAssetCache> =>
    new RegistryAssetCache({ client, repository: repo, spoolDir: await tmp.dir(), ...extra });

  before(async () => {
    registry = await startRegistry();
    repo = `${registry.host}/${REPO_PATH}`;
  });
  after(async () => {
    await registry.stop();
    await tmp.cleanup();
  });

  it('pushes an image tagged <key>: empty config, one application/data layer with its sha512', async () => {
    const cache = await cacheFor(makeClient(registry));
    const bytes = randomBytes(3000);
    const key = randomKey();
    await cache.put(key, await tmp.file(bytes));
    const { stdout } = await run(
      'skopeo',
      ['inspect', '--raw', '--tls-verify=false', `docker://${repo}:${key}`],
      {
        timeout: 20_000,
      },
    );
    const manifest = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(manifest.mediaType, OCI_MANIFEST);
    assert.equal(manifest.artifactType, ASSET_ARTIFACT_TYPE);
    assert.deepEqual(manifest.config, EMPTY_CONFIG_DESCRIPTOR);
    assert.equal((manifest.config as { mediaType: string }).mediaType, OCI_EMPTY);
    assert.deepEqual(manifest.layers, [
      {
        mediaType: ASSET_LAYER_MEDIA_TYPE,
        digest: `sha256:${sha256(bytes)}`,
        size: bytes.length,
        annotations: { [SHA512_ANNOTATION]: sha512(bytes) },
      },
    ]);
  });

  it('uploads big files in chunks; a replica reads them whole and by ranges across chunk edges', async () => {
    const MiB = 1 << 20;
    const writer = countingClient(registry, { chunkSize: MiB });
    const cache = await cacheFor(writer.client, { chunkThreshold: MiB });
    const bytes = randomBytes(3 * MiB + 123);
    const key = randomKey();
    const put = await cache.put(key, await tmp.file(bytes));
    assert.equal(writer.count('PATCH uploads'), 4);
    assert.equal(put.sha512, sha512(bytes));

    for (const spoolMaxBytes of [undefined, 0]) {
      const reader = await cacheFor(
        makeClient(registry),
        spoolMaxBytes === undefined ? {} : { spoolMaxBytes },
      );
      const got = await reader.get(key);
      assert.ok(got);
      assert.equal(got.size, bytes.length);
      assert.deepEqual(await readAll(await got.open()), bytes);
      for (const [start, end] of [
        [MiB - 10, MiB + 10],
        [0, 0],
        [bytes.length - 1, bytes.length - 1],
        [2 * MiB, bytes.length - 1],
        [0, bytes.length - 1],
      ] as const) {
        assert.deepEqual(
          await readAll(await got.open({ start, end })),
          bytes.subarray(start, end + 1),
          `range ${start}-${end}, spoolMaxBytes ${String(spoolMaxBytes)}`,
        );
      }
    }
  });

  it('verifies a blob once per process, then serves from the local copy without registry reads', async () => {
    const cache = await cacheFor(makeClient(registry));
    const bytes = randomBytes(50_000);
    const key = randomKey();
    await cache.put(key, await tmp.file(bytes));

    const replica = countingClient(registry);
    const reader = await cacheFor(replica.client);
    const got = await reader.get(key);
    assert.ok(got);
    assert.equal(replica.count('GET blobs'), 1, 'the first get reads the whole blob once');
    assert.equal(reader.spoolBytes, bytes.length);
    assert.deepEqual(await readAll(await got.open()), bytes);
    assert.deepEqual(await readAll(await got.open({ start: 7, end: 70 })), bytes.subarray(7, 71));
    assert.ok(await reader.get(key));
    assert.equal(replica.count('GET blobs'), 1, 'later reads come from the verified local copy');

    const streaming = countingClient(registry);
    const noSpool = await cacheFor(streaming.client, { spoolMaxBytes: 0 });
    const again = await noSpool.get(key);
    assert.ok(again);
    assert.deepEqual(await readAll(await again.open({ start: 0, end: 9 })), bytes.subarray(0, 10));
    assert.equal(streaming.count('GET blobs'), 2, 'without a spool every open streams from the registry');
  });

  it('replicas share entries, and identical bytes under two keys are stored once', async () => {
    const a = await cacheFor(makeClient(registry));
    const b = await cacheFor(makeClient(registry));
    const bytes = randomBytes(10_000);
    const [k1, k2] = [randomKey(), randomKey()];
    assert.equal(await b.get(k1), undefined);
    await a.put(k1, await tmp.file(bytes));
    const uploads = countingClient(registry);
    const c = await cacheFor(uploads.client);
    await c.put(k2, await tmp.file(bytes));
    assert.equal(uploads.count('PUT uploads'), 0, 'the blob was already in the repository');
    for (const key of [k1, k2]) {
      const got = await b.get(key);
      assert.ok(got, key);
      assert.equal(got.sha256, sha256(bytes));
      assert.deepEqual(await readAll(await got.open()), bytes);
    }
  });

  it('treats unusable entry manifests as misses', async () => {
    const log = recordingLogger();
    const client = makeClient(registry);
    const cache = await cacheFor(client, { log });
    const bytes = randomBytes(2000);
    const path = await tmp.file(bytes);
    const layer = (annotations?: Record<string, string>, mediaType = ASSET_LAYER_MEDIA_TYPE) => ({
      source: { path },
      mediaType,
      ...(annotations ? { annotations } : {}),
    });
    const config = { bytes: EMPTY_JSON, mediaType: OCI_EMPTY };
    const cases: Array<[string, Parameters<OciClient['pushImage']>[2], 'warn' | 'error']> = [
      ['no sha512 annotation', { config, layers: [layer()] }, 'warn'],
      ['malformed sha512', { config, layers: [layer({ [SHA512_ANNOTATION]: 'XYZ' })] }, 'warn'],
      [
        'wrong layer media type',
        { config, layers: [layer({ [SHA512_ANNOTATION]: sha512(bytes) }, 'application/octet-stream')] },
        'warn',
      ],
      [
        'two layers',
        {
          config,
          layers: [
            layer({ [SHA512_ANNOTATION]: sha512(bytes) }),
            layer({ [SHA512_ANNOTATION]: sha512(bytes) }),
          ],
        },
        'warn',
      ],
      [
        'sha512 of other bytes',
        { config, layers: [layer({ [SHA512_ANNOTATION]: sha512(Buffer.from('x')) })] },
        'error',
      ],
    ];
    for (const [what, spec, level] of cases) {
      const key = randomKey();
      await client.pushImage(repo, key, spec);
      const [warnings, errors] = [log.warnings.length, log.errors.length];
      assert.equal(await cache.get(key), undefined, what);
      const logged = level === 'warn' ? log.warnings.slice(warnings) : log.errors.slice(errors);
      assert.equal(logged.length, 1, what);
      assert.ok(logged[0]!.includes(key), `${what}: the log names the key`);
    }
    assert.equal(cache.spoolBytes, 0, 'nothing unverified was kept');
  });

  it('never serves corrupt bytes, and refuses to tag a corrupt blob the registry keeps', async () => {
    const log = recordingLogger();
    const cache = await cacheFor(makeClient(registry), { spoolMaxBytes: 0, log });
    const bytes = randomBytes(20_000);
    const key = randomKey();
    const hex = sha256(bytes);
    await cache.put(key, await tmp.file(bytes));
    const got = await cache.get(key);
    assert.ok(got);
    await flipBytes(blobDataPath(registry, hex), 19_000);

    // Already verified in this process: whole reads, and ranges reaching the end, still fail.
    const digestMismatch = (e: unknown): boolean => isFactoryError(e, 'DIGEST_MISMATCH');
    await assert.rejects(readAll(await got.open()), digestMismatch);
    await assert.rejects(readAll(await got.open({ start: 15_000, end: bytes.length - 1 })), digestMismatch);

    const fresh = await cacheFor(makeClient(registry), { log });
    assert.equal(await fresh.get(key), undefined);
    assert.ok(log.errors.some((l) => l.includes(hex)));
    assert.equal(fresh.spoolBytes, 0);
    await assert.rejects(fresh.put(randomKey(), await tmp.file(bytes)), (e: unknown) => {
      assert.ok(isFactoryError(e, 'DIGEST_MISMATCH'));
      assert.match(e.message, /never overwrites/);
      return true;
    });

    // Once the bad data is removed on the registry (what an operator does), a put heals the entry.
    await rm(blobDataPath(registry, hex));
    assert.equal(await fresh.get(key), undefined, 'a manifest whose blob is gone is a miss');
    await fresh.put(key, await tmp.file(bytes));
    const healed = await (await cacheFor(makeClient(registry))).get(key);
    assert.ok(healed);
    assert.deepEqual(await readAll(await healed.open()), bytes);
  });

  it('keeps the spool within its bound, and serves evicted or oversized assets from the registry', async () => {
    const spoolDir = await tmp.dir();
    const cache = await cacheFor(makeClient(registry), { spoolDir, spoolMaxBytes: 2500 });
    const assets = await Promise.all(
      [1000, 1000, 1000, 4000].map(async (n) => ({ key: randomKey(), bytes: randomBytes(n) })),
    );
    const writer = await cacheFor(makeClient(registry), { spoolMaxBytes: 0 });
    for (const a of assets) await writer.put(a.key, await tmp.file(a.bytes));
    for (const a of assets) assert.ok(await cache.get(a.key));
    assert.ok(cache.spoolBytes <= 2500, `spool holds ${cache.spoolBytes} bytes`);
    const files = (await readdir(spoolDir)).filter((f) => f.endsWith('.blob'));
    assert.equal(files.length, 2);
    for (const a of assets) {
      const got = await cache.get(a.key);
      assert.ok(got);
      assert.deepEqual(await readAll(await got.open()), a.bytes);
      assert.deepEqual(await readAll(await got.open({ start: 500, end: 899 })), a.bytes.subarray(500, 900));
    }
  });

  it('does not trust copies left in the spool directory by an earlier process', async () => {
    const bytes = randomBytes(5000);
    const key = randomKey();
    await (await cacheFor(makeClient(registry))).put(key, await tmp.file(bytes));
    const spoolDir = await tmp.dir();
    await writeFile(join(spoolDir, `${sha256(bytes)}.blob`), randomBytes(5000));
    const cache = await cacheFor(makeClient(registry), { spoolDir });
    const got = await cache.get(key);
    assert.ok(got);
    assert.deepEqual(await readAll(await got.open()), bytes);
    assert.deepEqual(await readAll(await got.open({ start: 0, end: 99 })), bytes.subarray(0, 100));
  });

  it('rejects ranges outside the asset with RANGE_NOT_SATISFIABLE', async () => {
    const cache = await cacheFor(makeClient(registry));
    const key = randomKey();
    const asset = await cache.put(key, await tmp.file(randomBytes(100)));
    for (const range of [
      { start: 50, end: 100 },
      { start: 10, end: 5 },
      { start: -1, end: 5 },
    ]) {
      await assert.rejects(asset.open(range), (e: unknown) => {
        assert.ok(isFactoryError(e, 'RANGE_NOT_SATISFIABLE'));
        assert.equal(e.headers['Content-Range'], 'bytes */100');
        return true;
      });
    }
  });

  it('makes no request for malformed keys and rejects putting them', async () => {
    const counted = countingClient(registry);
    const cache = await cacheFor(counted.client);
    for (const bad of ['', '../x', 'A'.repeat(64), `${'a'.repeat(64)}/manifests`]) {
      assert.equal(await cache.get(bad), undefined);
      await assert.rejects(cache.put(bad, '/nonexistent'), (e: unknown) => isFactoryError(e, 'INTERNAL'));
    }
    assert.equal(counted.count('GET manifests') + counted.count('GET blobs'), 0);
  });

  it('propagates registry outages instead of reporting a miss', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const client = new OciClient({ hosts: { [dead]: { insecure: true } }, retry: { maxAttempts: 1 } });
    const cache = new RegistryAssetCache({
      client,
      repository: `${dead}/${REPO_PATH}`,
      spoolDir: await tmp.dir(),
    });
    const unavailable = (e: unknown): boolean =>
      isFactoryError(e, 'UPSTREAM_UNAVAILABLE') && e.message.includes(dead);
    await assert.rejects(cache.get(randomKey()), unavailable);
    await assert.rejects(cache.put(randomKey(), await tmp.file(randomBytes(10))), unavailable);
  });
});

describe('RegistryAssetCache with htpasswd auth', TIMEOUT, () => {
  let registry: RunningRegistry;
  const tmp = scratch();
  before(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: { factory: 'cache-pass' } });
  });
  after(async () => {
    await registry.stop();
    await tmp.cleanup();
  });

  it('puts and gets with credentials; anonymous access fails with UPSTREAM_AUTH', async () => {
    const repo = `${registry.host}/${REPO_PATH}`;
    const credentials = staticCredentials({
      [registry.host]: { username: 'factory', password: 'cache-pass' },
    });
    const bytes = randomBytes(4096);
    const key = randomKey();
    const writer = new RegistryAssetCache({
      client: makeClient(registry, { credentials }),
      repository: repo,
      spoolDir: await tmp.dir(),
    });
    assert.equal(await writer.get(key), undefined);
    await writer.put(key, await tmp.file(bytes));
    const reader = new RegistryAssetCache({
      client: makeClient(registry, { credentials }),
      repository: repo,
      spoolDir: await tmp.dir(),
      spoolMaxBytes: 0,
    });
    const got = await reader.get(key);
    assert.ok(got);
    assert.deepEqual(await readAll(await got.open({ start: 1, end: 4095 })), bytes.subarray(1));
    const anonymous = new RegistryAssetCache({
      client: makeClient(registry),
      repository: repo,
      spoolDir: await tmp.dir(),
    });
    await assert.rejects(anonymous.get(key), (e: unknown) => isFactoryError(e, 'UPSTREAM_AUTH'));
  });
});
