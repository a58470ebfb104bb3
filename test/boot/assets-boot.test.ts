/**
 * Proof by boot: kernel, initramfs and cmdline downloaded through the HTTP API boot in QEMU (TCG)
 * and the fixture init reports the schematic — for an xz-era and a zstd-era fixture version, for
 * the empty schematic and one with microcode, firmware, a kernel module, extra args and META;
 * then the PXE script chained by iPXE under BIOS and under UEFI boots to the same report.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FixtureManifest } from '../fixtures/manifest.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';
import { bootKernel, bootPxe, PXE_GUEST_HOST } from '../helpers/qemu.js';
import { parseReport, type BootReport } from '../helpers/report.js';
import { assertSchematicReport } from '../helpers/schematic-report.js';
import { postSchematic } from '../helpers/post-schematic.js';

const EXTENSIONS = ['siderolabs/amd-ucode', 'siderolabs/realtek-firmware', 'siderolabs/vfat-module'];
const SCHEMATIC = `customization:
  extraKernelArgs: [nolapic, if.test=boot]
  meta:
    - key: 0xa
      value: '{"externalIPs":["1.2.3.4"]}'
  systemExtensions:
    officialExtensions: [${EXTENSIONS.join(', ')}]
`;
const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';

describe('boot assets served over HTTP', { timeout: 1_500_000 }, () => {
  let t: TestFactory;
  let fx: FixtureManifest;
  let url: string;
  let port: number;
  let work: string;
  let id: string;

  before(async () => {
    ({ t, fixtures: fx } = await makeFixtureFactory({ http: { externalURL: `http://${PXE_GUEST_HOST}/` } }));
    ({ url, port } = await t.factory.listen());
    work = await mkdtemp(join(tmpdir(), 'if-boot-'));
    id = await postSchematic(url, SCHEMATIC);
  });
  after(async () => {
    await t?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function download(path: string): Promise<string> {
    const res = await fetch(`${url}${path}`);
    assert.equal(res.status, 200, `${path}: ${res.status} ${await res.clone().text()}`);
    const file = join(work, path.replace(/[^a-zA-Z0-9.-]+/g, '_'));
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    return file;
  }

  async function bootDirect(schematic: string, version: string): Promise<BootReport> {
    const base = `/image/${schematic}/${version}`;
    const kernel = await download(`${base}/kernel-amd64`);
    const initrd = await download(`${base}/initramfs-amd64.xz`);
    const cmdline = await (await fetch(`${url}${base}/cmdline-metal-amd64`)).text();
    // Talos ≥ 1.8 metal has only console=tty0; the fixture init writes its report to ttyS0 itself.
    const boot = await bootKernel({
      kernel,
      initrd,
      append: `${cmdline} console=ttyS0`,
      timeoutMs: 180_000,
      name: `direct-${version}`,
    });
    return parseReport(boot.serial);
  }

  it(
    'arm64 (v1.10.6): kernel, initramfs and cmdline for metal-arm64 boot on qemu virt',
    {
      skip: existsSync('/usr/bin/qemu-system-aarch64')
        ? false
        : 'qemu-system-aarch64 not installed (Debian qemu-system-arm)',
    },
    async () => {
      const base = `/image/${id}/v1.10.6`;
      const kernel = await download(`${base}/kernel-arm64`);
      const initrd = await download(`${base}/initramfs-arm64.xz`);
      const cmdline = await (await fetch(`${url}${base}/cmdline-metal-arm64`)).text();
      assert.match(cmdline, /console=ttyAMA0/);
      const boot = await bootKernel({
        arch: 'arm64',
        kernel,
        initrd,
        append: cmdline,
        timeoutMs: 300_000,
        name: 'direct-arm64',
      });
      const r = parseReport(boot.serial);
      assert.equal(r.arch, 'aarch64');
      assertSchematicReport(fx, r, 'v1.10.6', id, EXTENSIONS, 'arm64');
      assert.ok(
        r.modules.some((m) => m.name === 'vfat' && m.loaded),
        JSON.stringify(r.modules),
      );
    },
  );

  for (const version of ['v1.5.5', 'v1.10.6']) {
    it(`${version}: empty schematic boots and reports only the schematic layer`, async () => {
      await fetch(`${url}/schematics`, { method: 'POST', body: '{}' });
      const r = await bootDirect(EMPTY_ID, version);
      assert.ok(r.poweroff);
      assert.deepEqual(
        r.layers.map((l) => [l.name, l.version]),
        [['schematic', EMPTY_ID]],
      );
      assert.ok(r.schematicMarkers.includes(EMPTY_ID));
    });

    it(`${version}: three extensions, extra args and META boot with microcode, firmware and the module`, async () => {
      const r = await bootDirect(id, version);
      assertSchematicReport(fx, r, version, id, EXTENSIONS);
      assert.match(r.cmdline, / nolapic /);
      assert.match(r.cmdline, /if\.test=boot/);
      assert.match(
        r.cmdline,
        /talos\.environment=INSTALLER_META_BASE64=MHhhPXsiZXh0ZXJuYWxJUHMiOlsiMS4yLjMuNCJdfQ==/,
      );
      assert.ok(
        r.microcode.some((m) => m.path.endsWith('kernel/x86/microcode/AuthenticAMD.bin')),
        JSON.stringify(r.microcode),
      );
      assert.ok(r.firmware.length > 0, 'firmware moved into the initramfs');
      assert.ok(r.moddepLayer !== undefined, 'modules.dep layer present');
      assert.ok(
        r.moddepLines.some((l) => l.includes('vfat')),
        r.moddepLines.join('\n'),
      );
      assert.ok(
        r.modules.some((m) => m.name === 'vfat' && m.loaded),
        JSON.stringify(r.modules),
      );
    });

    for (const firmware of ['bios', 'uefi'] as const) {
      it(`${version}: iPXE (${firmware}) chains /pxe and boots to the same report`, async () => {
        const boot = await bootPxe({
          bootUrl: `/pxe/${id}/${version}/metal-amd64`,
          factoryPort: port,
          firmware,
          timeoutMs: 300_000,
          name: `pxe-${firmware}-${version}`,
        });
        const r = parseReport(boot.serial);
        assertSchematicReport(fx, r, version, id, EXTENSIONS);
      });
    }
  }
});
