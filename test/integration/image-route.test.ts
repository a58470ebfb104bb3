/**
 * `GET|HEAD /image/:schematic/:version/:path` over the fixture releases: delivery semantics
 * (Content-Type/Length/Disposition, HEAD, byte ranges, ETag and conditional requests, checksum
 * files, cache reuse) in-process, every client-visible failure with upstream's exact bodies where
 * the spec gives them, and over a real loopback socket what only a socket shows: client aborts
 * during a build and mid-download, and keep-alive connections carrying many requests.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { FixtureManifest } from '../fixtures/manifest.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';
import { EXTENSION_ALIASES } from '../../src/release/catalog.js';

const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const HELLO = 'siderolabs/hello-world-service';

const execFileAsync = promisify(execFile);
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const sha512 = (b: Buffer): string => createHash('sha512').update(b).digest('hex');

/** Creates a schematic through the API and returns its ID. */
async function createSchematic(t: TestFactory, yaml: string): Promise<string> {
  const res = await t.factory.app.inject({ method: 'POST', url: '/schematics', payload: yaml });
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as { id: string }).id;
}

function extensionsYaml(names: string[], extra = ''): string {
  return `customization:\n${extra}  systemExtensions:\n    officialExtensions: [${names.join(', ')}]\n`;
}

describe('/image delivery', { timeout: 120_000 }, () => {
  let t: TestFactory;
  let fx: FixtureManifest;
  let helloId: string;
  const kernelUrl = `/image/${EMPTY_ID}/v1.5.5/kernel-amd64`;
  let kernel: Buffer;

  before(async () => {
    ({ t, fixtures: fx } = await makeFixtureFactory({ http: { externalURL: 'http://factory.test/' } }));
    assert.equal(await createSchematic(t, '{}'), EMPTY_ID);
    helloId = await createSchematic(t, extensionsYaml([HELLO]));
    const res = await get(kernelUrl);
    assert.equal(res.statusCode, 200, res.body);
    kernel = res.rawPayload;
  });
  after(() => t?.cleanup());

  const get = (url: string, headers: Record<string, string> = {}) =>
    t.factory.app.inject({ method: 'GET', url, headers });
  const head = (url: string, headers: Record<string, string> = {}) =>
    t.factory.app.inject({ method: 'HEAD', url, headers });

  it('kernel: octet-stream, exact length and bytes of the release kernel, attachment, strong ETag', async () => {
    const res = await get(kernelUrl);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    assert.equal(res.headers['content-length'], String(res.rawPayload.length));
    assert.equal(res.headers['content-disposition'], 'attachment; filename="kernel-amd64"');
    assert.equal(res.headers['accept-ranges'], 'bytes');
    assert.equal(res.headers['etag'], `"${sha256(res.rawPayload)}"`);
    assert.equal(res.rawPayload.length, fx.kernels.amd64?.vmlinuzSize);
    assert.equal(sha256(res.rawPayload), fx.kernels.amd64?.vmlinuzSha256);
    assert.equal(res.rawPayload.subarray(0, 2).toString('latin1'), 'MZ', 'a PE/bzImage kernel');
  });

  it('initramfs: application/x-xz, xz magic, Content-Length = body length', async () => {
    const res = await get(`/image/${EMPTY_ID}/v1.5.5/initramfs-amd64.xz`);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'application/x-xz');
    assert.equal(res.headers['content-length'], String(res.rawPayload.length));
    assert.equal(res.headers['content-disposition'], 'attachment; filename="initramfs-amd64.xz"');
    assert.deepEqual([...res.rawPayload.subarray(0, 6)], [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
    assert.equal(res.headers['etag'], `"${sha256(res.rawPayload)}"`);
  });

  it('cmdline: octet-stream text without a trailing newline; version without "v" works', async () => {
    const res = await get(`/image/${EMPTY_ID}/1.5.5/cmdline-metal-amd64`);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    assert.match(res.body, /^talos\.platform=metal /);
    assert.ok(!res.body.endsWith('\n'));
    assert.equal(res.headers['content-length'], String(res.rawPayload.length));
  });

  it('?filename= overrides the download name, not the type; an empty one is ignored', async () => {
    const res = await get(`${kernelUrl}?filename=custom.iso`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-disposition'], 'attachment; filename="custom.iso"');
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    assert.ok(res.rawPayload.equals(kernel));
    const empty = await get(`${kernelUrl}?filename=`);
    assert.equal(empty.headers['content-disposition'], 'attachment; filename="kernel-amd64"');
    // Repeated: the first wins (Go's Query().Get), not a comma-joined array.
    const twice = await get(`${kernelUrl}.sha256?filename=a.bin&filename=b.bin`);
    assert.equal(twice.headers['content-disposition'], 'attachment; filename="a.bin.sha256"');
    assert.equal(twice.body, `${sha256(kernel)}  a.bin\n`);
  });

  it('?filename= with non-ASCII or quotes gives a safe RFC 6266 header (asset and checksum)', async () => {
    const res = await get(`${kernelUrl}?filename=${encodeURIComponent('t€st "x".bin')}`);
    assert.equal(res.statusCode, 200);
    assert.equal(
      res.headers['content-disposition'],
      `attachment; filename="t_st \\"x\\".bin"; filename*=UTF-8''t%E2%82%ACst%20%22x%22.bin`,
    );
    // Regression: the checksum route wrote the raw name into the header → ERR_INVALID_CHAR, a 500.
    const sum = await get(`${kernelUrl}.sha256?filename=${encodeURIComponent('t€st.bin')}`);
    assert.equal(sum.statusCode, 200, sum.body);
    assert.equal(
      sum.headers['content-disposition'],
      `attachment; filename="t_st.bin.sha256"; filename*=UTF-8''t%E2%82%ACst.bin.sha256`,
    );
    assert.equal(sum.body, `${sha256(kernel)}  t€st.bin\n`);
  });

  it('HEAD: the GET headers (full Content-Length included) and no body', async () => {
    const g = await get(kernelUrl);
    const h = await head(kernelUrl);
    assert.equal(h.statusCode, 200);
    assert.equal(h.rawPayload.length, 0);
    for (const name of [
      'content-type',
      'content-length',
      'content-disposition',
      'etag',
      'accept-ranges',
      'cache-control',
    ]) {
      assert.equal(h.headers[name], g.headers[name], name);
    }
    assert.equal(h.headers['content-length'], String(kernel.length));
  });

  it('HEAD of an asset not built yet builds it and announces its size', async () => {
    const url = `/image/${EMPTY_ID}/v1.8.3/cmdline-metal-arm64`;
    const before = t.factory.runner.stats.builds;
    const h = await head(url);
    assert.equal(h.statusCode, 200, h.body);
    assert.equal(t.factory.runner.stats.builds, before + 1);
    const g = await get(url);
    assert.equal(h.headers['content-length'], String(g.rawPayload.length));
    assert.equal(h.headers['etag'], g.headers['etag']);
  });

  it('Range bytes=0-99 → 206 with Content-Range and exactly those bytes (HEAD too)', async () => {
    const res = await get(kernelUrl, { range: 'bytes=0-99' });
    assert.equal(res.statusCode, 206);
    assert.equal(res.headers['content-range'], `bytes 0-99/${kernel.length}`);
    assert.equal(res.headers['content-length'], '100');
    assert.ok(res.rawPayload.equals(kernel.subarray(0, 100)));
    assert.equal(res.headers['etag'], `"${sha256(kernel)}"`, 'the ETag names the whole representation');
    const h = await head(kernelUrl, { range: 'bytes=0-99' });
    assert.equal(h.statusCode, 206);
    assert.equal(h.headers['content-length'], '100');
    assert.equal(h.rawPayload.length, 0);
  });

  it('Range bytes=-10 → the last 10 bytes; bytes=100- → from byte 100 to the end', async () => {
    const last = await get(kernelUrl, { range: 'bytes=-10' });
    assert.equal(last.statusCode, 206);
    assert.equal(
      last.headers['content-range'],
      `bytes ${kernel.length - 10}-${kernel.length - 1}/${kernel.length}`,
    );
    assert.ok(last.rawPayload.equals(kernel.subarray(kernel.length - 10)));
    const tail = await get(kernelUrl, { range: 'bytes=100-' });
    assert.equal(tail.statusCode, 206);
    assert.equal(tail.headers['content-range'], `bytes 100-${kernel.length - 1}/${kernel.length}`);
    assert.equal(tail.headers['content-length'], String(kernel.length - 100));
    assert.ok(tail.rawPayload.equals(kernel.subarray(100)));
    const clamped = await get(kernelUrl, { range: `bytes=${kernel.length - 5}-99999999999` });
    assert.equal(clamped.statusCode, 206);
    assert.ok(clamped.rawPayload.equals(kernel.subarray(kernel.length - 5)));
  });

  it('unsatisfiable range → 416 with Content-Range: bytes */size, not marked cacheable', async () => {
    const res = await get(kernelUrl, { range: 'bytes=999999999-' });
    assert.equal(res.statusCode, 416);
    assert.equal(res.headers['content-range'], `bytes */${kernel.length}`);
    assert.match(res.body, /not satisfiable/);
    // Regression: the 416 carried `Cache-Control: public, max-age=31536000, immutable`, the ETag
    // and the attachment header of the asset it did not deliver.
    assert.equal(res.headers['cache-control'], undefined);
    assert.equal(res.headers['content-disposition'], undefined);
    assert.equal(res.headers['etag'], undefined);
    assert.equal((await get(kernelUrl, { range: 'bytes=-0' })).statusCode, 416);
  });

  it('multi-range, malformed or non-bytes ranges → 200 with the whole asset', async () => {
    for (const range of ['bytes=0-1,5-6', 'bytes=10-5', 'bytes=abc', 'items=0-1']) {
      const res = await get(kernelUrl, { range });
      assert.equal(res.statusCode, 200, range);
      assert.equal(res.headers['content-range'], undefined, range);
      assert.ok(res.rawPayload.equals(kernel), range);
    }
  });

  it('If-None-Match with the ETag (strong, weak, in a list, *) → 304 without a body', async () => {
    const etag = `"${sha256(kernel)}"`;
    for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const res = await get(kernelUrl, { 'if-none-match': inm });
      assert.equal(res.statusCode, 304, inm);
      assert.equal(res.rawPayload.length, 0, inm);
      assert.equal(res.headers['etag'], etag, inm);
    }
    const other = await get(kernelUrl, { 'if-none-match': '"0000"' });
    assert.equal(other.statusCode, 200);
    assert.ok(other.rawPayload.equals(kernel));
    const headRes = await head(kernelUrl, { 'if-none-match': etag });
    assert.equal(headRes.statusCode, 304);
  });

  it('If-Range: matching ETag → 206, mismatch (or a date, or a weak tag) → 200 full', async () => {
    const etag = `"${sha256(kernel)}"`;
    const match = await get(kernelUrl, { range: 'bytes=0-9', 'if-range': etag });
    assert.equal(match.statusCode, 206);
    assert.ok(match.rawPayload.equals(kernel.subarray(0, 10)));
    for (const ifRange of ['"stale"', `W/${etag}`, 'Wed, 21 Oct 2015 07:28:00 GMT']) {
      const res = await get(kernelUrl, { range: 'bytes=0-9', 'if-range': ifRange });
      assert.equal(res.statusCode, 200, ifRange);
      assert.ok(res.rawPayload.equals(kernel), ifRange);
    }
  });

  it('<path>.sha256 / .sha512 → `<hex>  <filename>\\n` of the downloaded bytes (also with ?filename=)', async () => {
    const initramfs = (await get(`/image/${helloId}/v1.8.3/initramfs-amd64.xz`)).rawPayload;
    for (const [path, body] of [
      ['kernel-amd64', kernel],
      ['initramfs-amd64.xz', initramfs],
    ] as const) {
      const base = path === 'kernel-amd64' ? kernelUrl : `/image/${helloId}/v1.8.3/${path}`;
      const s256 = await get(`${base}.sha256`);
      assert.equal(s256.statusCode, 200, s256.body);
      assert.equal(s256.body, `${sha256(body)}  ${path}\n`);
      assert.match(String(s256.headers['content-type']), /^text\/plain/);
      assert.equal(s256.headers['content-disposition'], `attachment; filename="${path}.sha256"`);
      const s512 = await get(`${base}.sha512`);
      assert.equal(s512.body, `${sha512(body)}  ${path}\n`);
      const custom = await get(`${base}.sha512?filename=custom.bin`);
      assert.equal(custom.body, `${sha512(body)}  custom.bin\n`);
      assert.equal(custom.headers['content-disposition'], 'attachment; filename="custom.bin.sha512"');
    }
  });

  it('checksum files verify with the real sha256sum/sha512sum -c, even for awkward ?filename= names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'if-sums-'));
    try {
      for (const name of ['kernel-amd64', 'my kernel.bin', 'odd\nname\\with\rescapes.bin']) {
        await writeFile(join(dir, name), kernel);
        for (const alg of ['sha256', 'sha512'] as const) {
          const query = name === 'kernel-amd64' ? '' : `?filename=${encodeURIComponent(name)}`;
          const res = await get(`${kernelUrl}.${alg}${query}`);
          assert.equal(res.statusCode, 200, res.body);
          assert.equal(res.body.split('\n').length, 2, `one line for ${JSON.stringify(name)}`);
          await writeFile(join(dir, 'SUMS'), res.rawPayload);
          const { stdout } = await execFileAsync(`${alg}sum`, ['-c', 'SUMS'], { cwd: dir, timeout: 30_000 });
          assert.match(stdout, /: OK\n$/, `${alg}sum -c for ${JSON.stringify(name)}`);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a second download comes from the cache: cacheHits up, builds unchanged, same bytes', async () => {
    const id = await createSchematic(t, extensionsYaml([HELLO, 'siderolabs/amd-ucode']));
    const url = `/image/${id}/v1.10.6/initramfs-amd64.xz`;
    const stats = t.factory.runner.stats;
    const b0 = stats.builds;
    const first = await get(url);
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(stats.builds, b0 + 1);
    const hits = stats.cacheHits;
    const second = await get(url);
    assert.equal(second.statusCode, 200);
    assert.equal(stats.builds, b0 + 1, 'no rebuild');
    assert.equal(stats.cacheHits, hits + 1);
    assert.ok(second.rawPayload.equals(first.rawPayload), 'byte-identical');
    assert.equal(second.headers['etag'], first.headers['etag']);
    // The checksum and a HEAD are cache hits too.
    await get(`${url}.sha256`);
    await head(url);
    assert.equal(stats.builds, b0 + 1);
    assert.equal(stats.cacheHits, hits + 3);
  });
});

describe('/image failures', { timeout: 120_000 }, () => {
  let t: TestFactory;
  let fx: FixtureManifest;
  before(async () => {
    ({ t, fixtures: fx } = await makeFixtureFactory());
    await createSchematic(t, '{}');
  });
  after(() => t?.cleanup());

  const get = (url: string, headers: Record<string, string> = {}) =>
    t.factory.app.inject({ method: 'GET', url, headers });

  async function expectError(
    url: string,
    status: number,
    body: string | RegExp,
    code?: string,
  ): Promise<void> {
    const res = await get(url);
    assert.equal(res.statusCode, status, `${url}: ${res.body}`);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    if (typeof body === 'string') assert.equal(res.body, body, url);
    else assert.match(res.body, body, url);
    assert.equal(res.headers['cache-control'], undefined, `${url}: errors are not marked cacheable`);
    if (code !== undefined) {
      const json = await get(url, { accept: 'application/json' });
      assert.equal(json.statusCode, status);
      assert.match(String(json.headers['content-type']), /^application\/json/);
      const doc = json.json() as { code: string; message: string };
      assert.equal(doc.code, code, url);
      assert.equal(`${doc.message}\n`, res.body);
    }
  }

  it('unknown schematic → 404 with the upstream body (short and 64-hex IDs)', async () => {
    await expectError(
      `/image/aaaaaaaaaaaa/v1.5.5/kernel-amd64`,
      404,
      'schematic ID "aaaaaaaaaaaa" not found\n',
      'SCHEMATIC_NOT_FOUND',
    );
    const id = 'a'.repeat(64);
    await expectError(`/image/${id}/v1.5.5/initramfs-amd64.xz`, 404, `schematic ID "${id}" not found\n`);
  });

  it('metal-amd64.ssd → 400 with the upstream body', async () => {
    await expectError(
      `/image/${EMPTY_ID}/v1.5.5/metal-amd64.ssd`,
      400,
      'error parsing profile from path: invalid profile path: "metal-amd64.ssd"\n',
      'PATH_INVALID',
    );
  });

  it('malformed version → 400 naming it', async () => {
    await expectError(`/image/${EMPTY_ID}/v1.x/kernel-amd64`, 400, /"v1\.x"/, 'VERSION_INVALID');
    await expectError(`/image/${EMPTY_ID}/latest/kernel-amd64`, 400, /"latest"/, 'VERSION_INVALID');
  });

  it('unavailable versions → 404 `version X is not available` (unknown, below minimum, dropped pre-release, +build)', async () => {
    await expectError(
      `/image/${EMPTY_ID}/v1.9.9/kernel-amd64`,
      404,
      'version 1.9.9 is not available\n',
      'VERSION_UNAVAILABLE',
    );
    assert.ok(
      fx.versions.some((v) => v.spec.tag === 'v1.1.2'),
      'v1.1.2 is published, just not offered',
    );
    await expectError(`/image/${EMPTY_ID}/v1.1.2/kernel-amd64`, 404, 'version 1.1.2 is not available\n');
    await expectError(
      `/image/${EMPTY_ID}/v1.10.0-rc.1/initramfs-amd64.xz`,
      404,
      'version 1.10.0-rc.1 is not available\n',
    );
    // Regression: `+build` was dropped by the availability check, then missed the imager tag and
    // answered 404 with the layout's server path in the message.
    await expectError(
      `/image/${EMPTY_ID}/v1.5.5+build.1/kernel-amd64`,
      404,
      'version 1.5.5+build.1 is not available\n',
    );
  });

  it('an extension not in the catalog → 400 naming it and the version', async () => {
    const id = await createSchematic(t, extensionsYaml(['siderolabs/nope']));
    await expectError(
      `/image/${id}/v1.8.3/initramfs-amd64.xz`,
      400,
      'official extension "siderolabs/nope" is not available for Talos version v1.8.3\n',
      'EXTENSION_UNAVAILABLE',
    );
    // Extensions do not apply to the kernel or cmdline, so those still build.
    assert.equal((await get(`/image/${id}/v1.8.3/cmdline-metal-amd64`)).statusCode, 200);
  });

  it('future-tools (>= v1.8.0) on v1.5.5 → 400 naming extension, version and constraint; fine on v1.8.3', async () => {
    const v155 = fx.versions.find((v) => v.spec.tag === 'v1.5.5');
    const listed = v155?.extensions.find((e) => e.name === 'future-tools');
    assert.ok(
      listed && !listed.compatible,
      'the v1.5.5 catalog lists future-tools although it is incompatible',
    );
    const id = await createSchematic(t, extensionsYaml(['siderolabs/future-tools']));
    const failures = t.factory.runner.stats.failures;
    await expectError(
      `/image/${id}/v1.5.5/initramfs-amd64.xz`,
      400,
      /siderolabs\/future-tools.*v1\.5\.5.*>= v1\.8\.0/,
    );
    assert.ok(t.factory.runner.stats.failures > failures);
    const ok = await get(`/image/${id}/v1.8.3/initramfs-amd64.xz`);
    assert.equal(ok.statusCode, 200, ok.body);
  });

  it('extension alias resolution (skipped: the fixture catalog has no aliased names)', async (tc) => {
    const names = new Set(fx.versions.flatMap((v) => v.extensions.map((e) => e.name)));
    const aliased = Object.entries(EXTENSION_ALIASES).filter(
      ([from, to]) =>
        names.has(from.replace(/^siderolabs\//, '')) || names.has(to.replace(/^siderolabs\//, '')),
    );
    if (aliased.length === 0) {
      tc.skip('no fixture extension has an alias');
      return;
    }
    assert.fail(`fixture catalog now has aliased names (${JSON.stringify(aliased)}): write this test`);
  });

  it('unknown platform → 400 naming it; unknown arch → 400 naming it', async () => {
    await expectError(
      `/image/${EMPTY_ID}/v1.5.5/cmdline-foo-amd64`,
      400,
      /^error parsing profile from path: unknown platform "foo"/,
      'PATH_INVALID',
    );
    await expectError(
      `/image/${EMPTY_ID}/v1.5.5/kernel-riscv64`,
      400,
      'error parsing profile from path: invalid architecture: "riscv64"\n',
    );
    await expectError(
      `/image/${EMPTY_ID}/v1.5.5/cmdline-metal`,
      400,
      'error parsing profile from path: invalid platform-arch: "metal"\n',
    );
  });

  it('-secureboot per the grammar: not on kernel/initramfs (bad arch); cmdline needs Secure Boot configured', async () => {
    await expectError(
      `/image/${EMPTY_ID}/v1.5.5/kernel-amd64-secureboot`,
      400,
      'error parsing profile from path: invalid architecture: "amd64-secureboot"\n',
    );
    await expectError(
      `/image/${EMPTY_ID}/v1.5.5/initramfs-amd64-secureboot.xz`,
      400,
      'error parsing profile from path: invalid architecture: "amd64-secureboot"\n',
    );
    // This factory has no Secure Boot material (pxe-route.test.ts checks the text with it).
    await expectError(
      `/image/${EMPTY_ID}/v1.5.5/cmdline-metal-amd64-secureboot`,
      400,
      /secure boot is disabled/,
      'SECUREBOOT_DISABLED',
    );
  });

  it('signature bundles → 501 before the schematic lookup', async () => {
    await expectError(
      `/image/aaaaaaaaaaaa/v1.5.5/kernel-amd64.sigstore.json`,
      501,
      /signature/,
      'NOT_IMPLEMENTED',
    );
  });

  it('check order follows upstream: schematic, then version syntax, then path, then availability', async () => {
    await expectError(`/image/aaaaaaaaaaaa/v1.x/metal-amd64.ssd`, 404, /schematic ID/);
    await expectError(`/image/${EMPTY_ID}/v1.x/metal-amd64.ssd`, 400, /invalid Talos version/);
    await expectError(`/image/${EMPTY_ID}/v1.9.9/metal-amd64.ssd`, 400, /invalid profile path/);
  });

  it('HEAD errors carry the status and no body', async () => {
    const res = await t.factory.app.inject({
      method: 'HEAD',
      url: `/image/aaaaaaaaaaaa/v1.5.5/kernel-amd64`,
    });
    assert.equal(res.statusCode, 404);
    assert.equal(res.rawPayload.length, 0);
  });
});

describe('/image over a loopback socket', { timeout: 120_000 }, () => {
  let t: TestFactory;
  let url: string;
  const sockets: Socket[] = [];
  before(async () => {
    ({ t } = await makeFixtureFactory());
    ({ url } = await t.factory.listen());
    t.factory.app.server.on('connection', (s: Socket) => sockets.push(s));
    await createSchematic(t, '{}');
  });
  after(() => t?.cleanup());

  async function waitFor(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it('a client that leaves during a build does not cancel it: the asset is cached for the next one', async () => {
    const id = await createSchematic(t, extensionsYaml(['siderolabs/vfat-module', HELLO]));
    const assetUrl = `${url}/image/${id}/v1.10.6/initramfs-amd64.xz`;
    const stats = t.factory.runner.stats;
    const b0 = stats.builds;
    const f0 = stats.failures;
    const ac = new AbortController();
    const pending = fetch(assetUrl, { signal: ac.signal }).then(
      (r) => r.arrayBuffer().then(() => 'completed'),
      () => 'aborted',
    );
    await waitFor(() => stats.builds > b0, 'the build to start');
    ac.abort();
    await pending;
    await waitFor(() => t.factory.runner.load.inflight === 0, 'the build to finish');
    assert.equal(stats.failures, f0, 'the detached build succeeded');
    const hits = stats.cacheHits;
    const res = await fetch(assetUrl);
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.headers.get('etag'), `"${sha256(body)}"`);
    assert.equal(stats.builds, b0 + 1, 'served from the cache, not rebuilt');
    assert.equal(stats.cacheHits, hits + 1);
  });

  it('a client that leaves mid-download leaves the server healthy; ranges work over the socket', async () => {
    const kernelUrl = `${url}/image/${EMPTY_ID}/v1.5.5/kernel-amd64`;
    const full = Buffer.from(await (await fetch(kernelUrl)).arrayBuffer());
    await new Promise<void>((resolve, reject) => {
      const req = http.get(kernelUrl, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
        res.on('error', () => undefined);
      });
      req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
    });
    const again = await fetch(kernelUrl);
    assert.ok(Buffer.from(await again.arrayBuffer()).equals(full));
    const part = await fetch(kernelUrl, { headers: { range: 'bytes=1000-1999' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 1000-1999/${full.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(full.subarray(1000, 2000)));
    const h = await fetch(kernelUrl, { method: 'HEAD' });
    assert.equal(h.headers.get('content-length'), String(full.length));
  });

  it('many requests on one keep-alive connection do not pile up listeners on the socket', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const before = sockets.length;
    const cmdlineUrl = `${url}/image/${EMPTY_ID}/v1.5.5/cmdline-metal-amd64`;
    try {
      for (let i = 0; i < 25; i++) {
        const status = await new Promise<number>((resolve, reject) => {
          http
            .get(cmdlineUrl, { agent }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            })
            .on('error', reject);
        });
        assert.equal(status, 200);
      }
      assert.equal(sockets.length, before + 1, 'all requests used one connection');
      const socket = sockets[sockets.length - 1]!;
      // Regression: every request added a 'close' listener to the socket (MaxListenersExceeded).
      assert.ok(
        socket.listenerCount('close') < 10,
        `socket has ${socket.listenerCount('close')} close listeners`,
      );
    } finally {
      agent.destroy();
    }
  });
});
