/**
 * The original Image Service naming of the virtual extension (`build.schematicExtension: flavor`),
 * proven by boot on the v1.8.3 fixture: the layer is named `flavor`, its version is the ID and
 * `/usr/local/share/flavor/<id>` exists — no `schematic` layer.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';
import { bootKernel } from '../helpers/qemu.js';
import { parseReport } from '../helpers/report.js';

describe('flavor naming of the virtual extension', { timeout: 600_000 }, () => {
  let t: TestFactory;
  let work: string;
  before(async () => {
    ({ t } = await makeFixtureFactory({ build: { schematicExtension: 'flavor' } }));
    work = await mkdtemp(join(tmpdir(), 'if-flavor-'));
  });
  after(async () => {
    await t?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('v1.8.3: boots with a `flavor` layer and marker', async () => {
    const app = t.factory.app;
    const created = await app.inject({
      method: 'POST',
      url: '/flavor',
      payload:
        'customization:\n  systemExtensions:\n    officialExtensions: [siderolabs/hello-world-service]\n',
    });
    assert.equal(created.statusCode, 201);
    const id = (created.json() as { id: string }).id;
    const get = async (path: string) => {
      const res = await app.inject(`/image/${id}/v1.8.3/${path}`);
      assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
      return res.rawPayload;
    };
    const kernel = join(work, 'kernel');
    const initrd = join(work, 'initramfs.xz');
    await writeFile(kernel, await get('kernel-amd64'));
    await writeFile(initrd, await get('initramfs-amd64.xz'));
    const cmdline = (await get('cmdline-metal-amd64')).toString();
    const boot = await bootKernel({
      kernel,
      initrd,
      append: cmdline,
      timeoutMs: 240_000,
      name: 'flavor-v1.8.3',
    });
    const r = parseReport(boot.serial);
    assert.deepEqual(
      r.layers.map((l) => [l.name, l.version]),
      [
        ['hello-world-service', 'v1.0.0'],
        ['flavor', id],
      ],
    );
    assert.deepEqual(r.flavorMarkers, [id]);
    assert.deepEqual(r.schematicMarkers, []);
  });
});
