/**
 * Proof by boot of the GRUB ISO (Talos < 1.10): `metal-amd64.iso` served over HTTP boots under
 * SeaBIOS and under OVMF with nobody passing `-append` — the kernel command line comes from the
 * medium's grub.cfg — and the fixture init reports the schematic with its extensions, for an
 * xz-era and a zstd-era release. The same request built by the CLI in another process gives the
 * same bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import type { FixtureManifest } from '../fixtures/manifest.js';
import { runCli } from '../helpers/cli.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';
import { bootIso } from '../helpers/qemu.js';
import { parseReport } from '../helpers/report.js';
import { assertSchematicReport } from '../helpers/schematic-report.js';

const EXTENSIONS = ['siderolabs/amd-ucode', 'siderolabs/vfat-module'];
const SCHEMATIC = `customization:
  extraKernelArgs: [if.test=iso]
  systemExtensions:
    officialExtensions: [${EXTENSIONS.join(', ')}]
`;
const execFileAsync = promisify(execFile);

describe('GRUB ISO boots', { timeout: 1_200_000 }, () => {
  let t: TestFactory;
  let fx: FixtureManifest;
  let work: string;
  let id: string;

  before(async () => {
    ({ t, fixtures: fx } = await makeFixtureFactory({ http: { externalURL: 'https://factory.example/' } }));
    work = await mkdtemp(join(tmpdir(), 'if-iso-'));
    const res = await t.factory.app.inject({ method: 'POST', url: '/schematics', payload: SCHEMATIC });
    assert.equal(res.statusCode, 201, res.body);
    id = res.json<{ id: string }>().id;
  });
  after(async () => {
    await t?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function downloadIso(version: string): Promise<string> {
    const res = await t.factory.app.inject({ method: 'GET', url: `/image/${id}/${version}/metal-amd64.iso` });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'application/x-iso9660-image');
    const file = join(work, `${version}.iso`);
    await writeFile(file, res.rawPayload);
    return file;
  }

  for (const version of ['v1.5.5', 'v1.8.3']) {
    for (const firmware of ['bios', 'uefi'] as const) {
      it(`${version}: metal-amd64.iso boots under ${firmware === 'bios' ? 'SeaBIOS' : 'OVMF'}`, async () => {
        const iso = await downloadIso(version);
        const boot = await bootIso({ iso, firmware, timeoutMs: 300_000, name: `iso-${firmware}-${version}` });
        const r = parseReport(boot.serial);
        assertSchematicReport(fx, r, version, id, EXTENSIONS);
        assert.match(r.cmdline, /talos\.platform=metal/);
        assert.match(r.cmdline, /if\.test=iso/);
        // The imager adds halt_if_installed to ISOs from 1.8 (quirk), never to other kinds.
        assert.equal(/talos\.halt_if_installed=1/.test(r.cmdline), version === 'v1.8.3');
      });
    }
  }

  // Talos 1.10–1.11 amd64: hybrid — GRUB for BIOS from boot/, systemd-boot + the UKI for UEFI.
  for (const firmware of ['bios', 'uefi'] as const) {
    it(`v1.10.6: the dual-boot metal-amd64.iso boots under ${firmware === 'bios' ? 'SeaBIOS (GRUB)' : 'OVMF (systemd-boot + UKI)'}`, async () => {
      const iso = await downloadIso('v1.10.6');
      const boot = await bootIso({ iso, firmware, timeoutMs: 300_000, name: `iso-${firmware}-v1.10.6` });
      const r = parseReport(boot.serial);
      assertSchematicReport(fx, r, 'v1.10.6', id, EXTENSIONS);
      assert.match(r.cmdline, /if\.test=iso/);
      assert.match(r.cmdline, /talos\.halt_if_installed=1/);
      // GRUB passes BOOT_IMAGE; the systemd stub does not.
      assert.equal(/BOOT_IMAGE=/.test(r.cmdline), firmware === 'bios');
    });
  }

  it('v1.10.6: the systemd-boot metal-arm64.iso boots under AAVMF', async () => {
    const res = await t.factory.app.inject({ method: 'GET', url: `/image/${id}/v1.10.6/metal-arm64.iso` });
    assert.equal(res.statusCode, 200, res.body);
    const iso = join(work, 'arm64.iso');
    await writeFile(iso, res.rawPayload);
    const boot = await bootIso({
      iso,
      arch: 'arm64',
      firmware: 'uefi',
      timeoutMs: 600_000,
      name: 'iso-arm64-v1.10.6',
    });
    const r = parseReport(boot.serial);
    assert.equal(r.arch, 'aarch64');
    assertSchematicReport(fx, r, 'v1.10.6', id, EXTENSIONS, 'arm64');
  });

  it('v1.8.3: volume ID from the version, grub.cfg with the reset entry, same bytes from the CLI', async () => {
    const iso = await downloadIso('v1.8.3');
    const { stdout } = await execFileAsync('xorriso', ['-indev', iso, '-pvd_info'], { encoding: 'utf8' });
    assert.match(stdout, /Volume Id\s*:\s*TALOS_V1_8_3/);
    assert.match(stdout, /Volume Set Id\s*:\s*Talos-v1\.8\.3/);
    const cfg = join(work, 'grub.cfg');
    await execFileAsync('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/boot/grub/grub.cfg', cfg]);
    const text = await readFile(cfg, 'utf8');
    assert.match(text, /menuentry "Reset Talos installation" \{\n\tset gfxmode=auto\n/);
    assert.match(text, /talos\.experimental\.wipe=system\n/);

    const schematicFile = join(work, 'schematic.yaml');
    await writeFile(schematicFile, SCHEMATIC);
    const out = join(work, 'cli.iso');
    const res = await runCli(
      ['build', '--schematic', schematicFile, '--version', 'v1.8.3', 'metal-amd64.iso', '-o', out],
      {
        IMAGE_FACTORY__artifacts__source: 'oci-layout',
        IMAGE_FACTORY__artifacts__layoutDir: fx.root,
        IMAGE_FACTORY_DATA_DIR: join(work, 'cli-data'),
        IMAGE_FACTORY_EXTERNAL_URL: 'https://factory.example/',
      },
    );
    assert.equal(res.code, 0, res.stderr);
    const sha = async (f: string) =>
      createHash('sha256')
        .update(await readFile(f))
        .digest('hex');
    assert.equal(await sha(out), await sha(iso), 'ISO builds are reproducible across processes');
  });
});
