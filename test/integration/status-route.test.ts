/**
 * `/status/:schematic/:version/:path` over the fixture releases: the same checks (and 4xx) as the
 * asset route, idle → POST starts a build → an SSE stream over a real socket reports building
 * steps and ends with ready, whose sha256 is the asset's; failures carry the asset route's message.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';

const HELLO = 'siderolabs/hello-world-service';

/** Reads an SSE stream to its end; returns the `data` payloads of `status` events. */
function readEvents(url: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { Accept: 'text/event-stream' } }, (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /^text\/event-stream/);
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const events = text
            .split('\n\n')
            .filter((block) => block.startsWith('event: status'))
            .map((block) => JSON.parse(block.split('\ndata: ')[1] ?? '{}') as Record<string, unknown>);
          resolve(events);
        });
      })
      .on('error', reject);
  });
}

describe('/status', { timeout: 180_000 }, () => {
  let t: TestFactory;
  let base: string;
  let id: string;

  before(async () => {
    ({ t } = await makeFixtureFactory());
    base = (await t.factory.listen()).url;
    const res = await t.factory.app.inject({
      method: 'POST',
      url: '/schematics',
      payload: `customization:\n  systemExtensions:\n    officialExtensions: [${HELLO}]\n`,
    });
    id = (res.json() as { id: string }).id;
  });
  after(() => t?.cleanup());

  const inject = (method: 'GET' | 'POST', url: string) => t.factory.app.inject({ method, url });

  it('answers the asset route’s 4xx for the same bad input', async () => {
    for (const path of ['metal-amd64.ssd', 'kernel-sparc']) {
      const [status, image] = await Promise.all([
        inject('GET', `/status/${id}/v1.10.6/${path}`),
        inject('GET', `/image/${id}/v1.10.6/${path}`),
      ]);
      assert.equal(status.statusCode, image.statusCode);
      assert.equal(status.body, image.body);
    }
    const unknown = await inject('GET', `/status/${'a'.repeat(64)}/v1.10.6/kernel-amd64`);
    assert.equal(unknown.statusCode, 404);
  });

  it('idle, then POST starts the build and the stream ends with ready = the asset', async () => {
    const url = `/status/${id}/v1.10.6/initramfs-amd64.xz`;
    const idle = await inject('GET', url);
    assert.equal(idle.statusCode, 200);
    assert.deepEqual(idle.json(), { state: 'idle' });
    assert.equal(idle.headers['cache-control'], 'no-store');

    const started = await inject('POST', url);
    assert.equal(started.statusCode, 202);
    assert.ok(['queued', 'building', 'ready'].includes(String(started.json<{ state: string }>().state)));

    const events = await readEvents(`${base}${url}`);
    const last = events.at(-1);
    assert.equal(last?.state, 'ready', JSON.stringify(events));
    // Steps come from the pipeline: the tools the initramfs build ran.
    const steps = events.filter((e) => e.state === 'building').map((e) => String(e.step));
    assert.ok(steps.every((s) => s.length > 0));

    const asset = await inject('GET', `/image/${id}/v1.10.6/initramfs-amd64.xz`);
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.headers['etag'], `"${String(last?.sha256)}"`);
    assert.equal(Number(asset.headers['content-length']), last?.size);
  });

  it('a version that is not offered gives the asset route’s answer', async () => {
    // v1.1.2 is below the minimum version: not offered at all (404, same as /image).
    const res = await inject('POST', `/status/${id}/v1.1.2/initramfs-amd64.xz`);
    const image = await inject('GET', `/image/${id}/v1.1.2/initramfs-amd64.xz`);
    assert.equal(res.statusCode, image.statusCode);
    assert.equal(res.body, image.body);
  });
});
