/**
 * Prometheus metrics over the fixture releases: the real `metrics.listen` listener is scraped
 * before and after real requests (schematic create/duplicate/get, asset build then cache hit,
 * an initramfs with an extension, a 404), and the names, labels and values must move accordingly.
 * Each factory has its own registry; an empty `metrics.listen` disables metrics.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { validateConfig } from '../../src/config/load.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeTestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';

/** One sample: `name{a="b",…} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (enough of it for prom-client's output). */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparseable line ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

/**
 * Scrapes until `ready` holds (bounded): a response's duration is recorded when the server has
 * flushed it, which may be just after this process's client has read it.
 */
async function settle(
  scrape: () => Promise<{ samples: Sample[] }>,
  ready: (s: Sample[]) => boolean,
): Promise<Sample[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const { samples } = await scrape();
    if (ready(samples) || Date.now() > deadline) return samples;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sum of the samples of `name` whose labels include `labels`. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

describe('metrics', { timeout: 180_000 }, () => {
  let t: TestFactory;
  let metricsUrl: string;
  let api: string;

  const scrape = async () => {
    const res = await fetch(metricsUrl);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parseExposition(await res.text());
  };
  const req = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${api}${path}`, init);
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, body };
  };

  before(async () => {
    ({ t } = await makeFixtureFactory());
    const bound = await t.factory.listen();
    api = bound.url;
    assert.ok(bound.metricsUrl, 'metrics listener bound');
    metricsUrl = bound.metricsUrl;
    assert.notEqual(new URL(metricsUrl).port, String(bound.port), 'a listener of its own');
  });
  after(() => t?.cleanup());

  it('declares every metric with its type', async () => {
    const { types, samples } = await scrape();
    const expected: Record<string, string> = {
      image_factory_schematic_get_total: 'counter',
      image_factory_schematic_create_total: 'counter',
      image_factory_schematic_duplicate_create_total: 'counter',
      image_factory_schematic_cache_size: 'gauge',
      image_factory_assets_delivered_cached_total: 'counter',
      image_factory_assets_cached_bytes_total: 'counter',
      image_factory_assets_built_total: 'counter',
      image_factory_assets_built_bytes_total: 'counter',
      image_factory_asset_cache_errors_total: 'counter',
      image_factory_asset_build_duration_seconds: 'histogram',
      image_factory_asset_builds_total: 'counter',
      image_factory_asset_build_failures_total: 'counter',
      image_factory_build_queue_depth: 'gauge',
      image_factory_builds_active: 'gauge',
      image_factory_asset_cache_bytes: 'gauge',
      image_factory_asset_cache_entries: 'gauge',
      image_factory_profile_system_extension_hits_total: 'counter',
      image_factory_http_request_duration_seconds: 'histogram',
      image_factory_release_requests_total: 'counter',
      image_factory_release_request_errors_total: 'counter',
      process_cpu_seconds_total: 'counter',
    };
    for (const [name, type] of Object.entries(expected)) assert.equal(types.get(name), type, name);
    assert.equal(valueOf(samples, 'image_factory_build_queue_depth'), 0);
    assert.equal(valueOf(samples, 'image_factory_schematic_create_total'), 0);
  });

  it('schematic counters, asset build vs cache hit with upstream labels, extension hits, HTTP durations, release requests', async () => {
    const before = (await scrape()).samples;
    const body =
      'customization:\n  extraKernelArgs: [if.metrics=1]\n  systemExtensions:\n    officialExtensions: [siderolabs/amd-ucode]\n';
    const created = await req('/schematics', { method: 'POST', body });
    assert.equal(created.status, 201);
    const { id } = JSON.parse(created.body.toString()) as { id: string };
    assert.equal((await req('/schematics', { method: 'POST', body })).status, 201);
    assert.equal((await req(`/schematics/${id}`)).status, 200);

    const kernel = await req(`/image/${id}/v1.10.6/kernel-amd64`);
    assert.equal(kernel.status, 200);
    assert.equal((await req(`/image/${id}/v1.10.6/kernel-amd64`)).status, 200);
    const initramfs = await req(`/image/${id}/v1.10.6/initramfs-amd64.xz`);
    assert.equal(initramfs.status, 200);
    assert.equal((await req('/no/such/route')).status, 404);

    const requests = (s: Sample[]) => valueOf(s, 'image_factory_http_request_duration_seconds_count');
    const after = await settle(scrape, (s) => requests(s) - requests(before) >= 7);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);
    assert.equal(delta('image_factory_schematic_create_total'), 1);
    assert.equal(delta('image_factory_schematic_duplicate_create_total'), 1);
    assert.ok(
      delta('image_factory_schematic_get_total') >= 4,
      'GET /schematics/:id and each asset request load it',
    );

    const kernelLabels = { talos_version: 'v1.10.6', output_kind: 'kernel', arch: 'amd64' };
    assert.equal(delta('image_factory_assets_built_total', kernelLabels), 1);
    assert.equal(delta('image_factory_assets_built_bytes_total', kernelLabels), kernel.body.length);
    assert.equal(delta('image_factory_assets_delivered_cached_total', kernelLabels), 1);
    assert.equal(delta('image_factory_assets_cached_bytes_total', kernelLabels), kernel.body.length);
    const initLabels = { talos_version: 'v1.10.6', output_kind: 'initramfs', arch: 'amd64' };
    assert.equal(delta('image_factory_assets_built_total', initLabels), 1);
    assert.equal(delta('image_factory_assets_built_bytes_total', initLabels), initramfs.body.length);
    assert.equal(delta('image_factory_asset_build_duration_seconds_count', { output_kind: 'initramfs' }), 1);
    assert.ok(delta('image_factory_asset_build_duration_seconds_sum', { output_kind: 'initramfs' }) > 0);
    assert.equal(delta('image_factory_asset_builds_total'), 2);
    assert.equal(delta('image_factory_asset_build_failures_total'), 0);
    // Kernels carry no extensions: only the initramfs delivery is a hit.
    assert.equal(
      delta('image_factory_profile_system_extension_hits_total', { extension: 'siderolabs/amd-ucode' }),
      1,
    );

    const route = '/image/:schematic/:version/:path';
    assert.equal(
      delta('image_factory_http_request_duration_seconds_count', {
        method: 'GET',
        route,
        status_code: '200',
      }),
      3,
    );
    assert.equal(
      delta('image_factory_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/schematics',
        status_code: '201',
      }),
      2,
    );
    assert.equal(
      delta('image_factory_http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' }),
      1,
    );
    assert.ok(delta('image_factory_http_request_duration_seconds_sum', { route }) > 0);

    assert.ok(valueOf(after, 'image_factory_release_requests_total', { operation: 'list_tags' }) >= 1);
    assert.ok(valueOf(after, 'image_factory_release_requests_total', { operation: 'get_manifest' }) >= 1);
    assert.ok(valueOf(after, 'image_factory_asset_cache_entries') >= 2);
    assert.ok(valueOf(after, 'image_factory_asset_cache_bytes') >= initramfs.body.length);
    assert.ok(valueOf(after, 'image_factory_schematic_cache_size') >= 1);
  });

  it('requests that fail before a build count no build and no extension hit; the wizard is measured per route', async () => {
    const before = (await scrape()).samples;
    // A schematic whose extension the catalog lacks: 400 before any build; a bad path: no build either.
    const bad = await req('/schematics', {
      method: 'POST',
      body: 'customization: {systemExtensions: {officialExtensions: [siderolabs/nope]}}',
    });
    const { id } = JSON.parse(bad.body.toString()) as { id: string };
    assert.equal((await req(`/image/${id}/v1.10.6/initramfs-amd64.xz`)).status, 400);
    assert.equal((await req(`/image/${id}/v1.10.6/metal-amd64.ssd`)).status, 400);
    assert.equal((await req('/?target=metal&version=1.10.6&arch=amd64&step=final')).status, 200);
    const requests = (s: Sample[]) => valueOf(s, 'image_factory_http_request_duration_seconds_count');
    const after = await settle(scrape, (s) => requests(s) - requests(before) >= 4);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);
    assert.equal(delta('image_factory_asset_builds_total'), 0);
    assert.equal(
      delta('image_factory_profile_system_extension_hits_total'),
      0,
      'only successful deliveries count',
    );
    assert.equal(
      delta('image_factory_http_request_duration_seconds_count', {
        route: '/image/:schematic/:version/:path',
        status_code: '400',
      }),
      2,
    );
    assert.equal(
      delta('image_factory_http_request_duration_seconds_count', { route: '/', status_code: '200' }),
      1,
    );
  });

  it('concurrent requests for one fresh asset: one build counted, the waiters are neither builds nor hits', async () => {
    const created = await req('/schematics', {
      method: 'POST',
      body: 'customization: {extraKernelArgs: [if.metrics=join]}',
    });
    const { id } = JSON.parse(created.body.toString()) as { id: string };
    const before = (await scrape()).samples;
    const results = await Promise.all(
      Array.from({ length: 4 }, () => req(`/image/${id}/v1.8.3/initramfs-amd64.xz`)),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200, 200],
    );
    const after = (await scrape()).samples;
    // An initramfs build takes long enough (hundreds of ms) that all four join it.
    const labels = { talos_version: 'v1.8.3', output_kind: 'initramfs', arch: 'amd64' };
    const delta = (name: string) => valueOf(after, name, labels) - valueOf(before, name, labels);
    assert.equal(delta('image_factory_assets_built_total'), 1);
    assert.equal(delta('image_factory_assets_delivered_cached_total'), 0);
  });

  it('the listener serves only /metrics', async () => {
    const res = await fetch(metricsUrl.replace(/\/metrics$/, '/other'));
    assert.equal(res.status, 404);
    await res.arrayBuffer();
    assert.equal((await fetch(metricsUrl, { method: 'HEAD' })).status, 200);
  });
});

describe('metrics configuration', () => {
  it('each factory has its own registry; empty metrics.listen disables metrics', async () => {
    const a = await makeTestFactory();
    const b = await makeTestFactory({ metrics: { listen: '' } });
    try {
      assert.ok(a.factory.metrics);
      assert.equal(b.factory.metrics, undefined);
      await b.factory.app.inject({ method: 'POST', url: '/schematics', payload: '{}' });
      const text = await a.factory.metrics.scrape();
      assert.match(text, /^image_factory_schematic_create_total 0$/m, 'b did not count into a');
      const bound = await b.factory.listen();
      assert.equal(bound.metricsUrl, undefined);
    } finally {
      await a.cleanup();
      await b.cleanup();
    }
  });

  it('a metrics address in use stops start-up naming the key', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as AddressInfo).port;
    const t = await makeTestFactory({ metrics: { listen: `127.0.0.1:${port}` } });
    try {
      await assert.rejects(
        t.factory.listen(),
        /config key "metrics\.listen": cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
      );
    } finally {
      await t.cleanup();
      busy.close();
    }
  });

  it('metrics.listen is validated, naming the key', () => {
    assert.equal(validateConfig({}).metrics.listen, '127.0.0.1:2122');
    assert.throws(
      () => validateConfig({ metrics: { listen: 'nope' } }),
      /config key "metrics\.listen": expected HOST:PORT/,
    );
    assert.equal(validateConfig({ metrics: { listen: '[::1]:9100' } }).metrics.listen, '[::1]:9100');
  });
});
