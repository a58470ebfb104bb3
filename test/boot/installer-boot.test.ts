/**
 * Proof by boot for the registry frontend: the installer image pulled with skopeo from the
 * factory's registry carries a kernel and initramfs that boot in QEMU (TCG), and the fixture init
 * reports the schematic and its extensions.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';
import { layerFiles, pullToLayout } from '../helpers/oci-pull.js';
import { bootKernel } from '../helpers/qemu.js';
import { parseReport } from '../helpers/report.js';

const run = promisify(execFile);
const EXTENSIONS = ['amd-ucode', 'realtek-firmware', 'vfat-module'];
const SCHEMATIC = `customization:
  extraKernelArgs: [if.test=installer]
  systemExtensions:
    officialExtensions: [${EXTENSIONS.map((e) => `siderolabs/${e}`).join(', ')}]
`;

describe('installer pulled from the registry frontend boots', { timeout: 600_000 }, () => {
  let t: TestFactory;
  let url: string;
  let host: string;
  let work: string;
  let id: string;

  before(async () => {
    ({ t } = await makeFixtureFactory());
    const listening = await t.factory.listen();
    url = listening.url;
    host = `127.0.0.1:${listening.port}`;
    work = await mkdtemp(join(tmpdir(), 'if-installer-boot-'));
    const res = await fetch(`${url}/schematics`, { method: 'POST', body: SCHEMATIC });
    id = ((await res.json()) as { id: string }).id;
  });
  after(async () => {
    await t?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('v1.8.3 amd64: kernel + initramfs out of the pulled image boot and report the schematic', async () => {
    const pulled = await pullToLayout(`${host}/installer/${id}:v1.8.3`, join(work, 'oci'), 'amd64');
    const artifacts = pulled.layers[1]!;
    assert.deepEqual(await layerFiles(artifacts), [
      'usr/install/amd64/initramfs.xz',
      'usr/install/amd64/vmlinuz',
    ]);
    const files = join(work, 'files');
    await mkdir(files);
    await run('tar', ['-xf', artifacts, '-C', files]);
    const cmdline = await (await fetch(`${url}/image/${id}/v1.8.3/cmdline-metal-amd64`)).text();
    const boot = await bootKernel({
      kernel: join(files, 'usr/install/amd64/vmlinuz'),
      initrd: join(files, 'usr/install/amd64/initramfs.xz'),
      // Talos ≥ 1.8 metal has only console=tty0; the fixture init reports on ttyS0 itself.
      append: `${cmdline} console=ttyS0`,
      timeoutMs: 180_000,
      name: 'installer-v1.8.3',
    });
    const r = parseReport(boot.serial);
    assert.match(r.cmdline, /if\.test=installer/);
    assert.deepEqual(
      r.layers.map((l) => l.name).filter((n) => n !== 'modules.dep'),
      [...EXTENSIONS, 'schematic'],
    );
    assert.equal(r.layers.find((l) => l.name === 'schematic')?.version, id);
    assert.ok(r.schematicMarkers.includes(id));
    for (const l of r.layers) assert.equal(l.state, 'mounted', `${l.name} ${l.state}`);
    assert.ok(
      r.modules.some((m) => m.name === 'vfat' && m.loaded),
      JSON.stringify(r.modules),
    );
    assert.deepEqual(r.errors, []);
  });
});
