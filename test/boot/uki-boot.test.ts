/**
 * Proof by boot of the unsigned UKI served by the factory: `metal-amd64-uki.efi` downloaded over
 * HTTP is the default loader `EFI/BOOT/BOOTX64.EFI` on a GPT disk with one ESP (plain Debian tools,
 * test/helpers/esp-disk.ts) under OVMF, Secure Boot off, for an xz-era (v1.5.5) and a zstd-era
 * (v1.10.6) release. Nobody passes `-append`: the command line the fixture init reports is the
 * UKI's `.cmdline` section, and the report shows the schematic with its extension.
 *
 * The same factory has no Secure Boot configured: `-secureboot` asset and PXE paths answer 400
 * saying so, and the signing certificate route answers 404.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readPe, readSection } from '../../src/builders/formats/pe/reader.js';
import type { FixtureManifest } from '../fixtures/manifest.js';
import { makeEspDisk } from '../helpers/esp-disk.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';
import { bootDisk } from '../helpers/qemu.js';
import { parseReport } from '../helpers/report.js';
import { assertSchematicReport } from '../helpers/schematic-report.js';
import { downloadSparse } from '../helpers/sparse-file.js';
import { postSchematic } from '../helpers/post-schematic.js';

const EXTENSIONS = ['siderolabs/intel-ucode'];
const SCHEMATIC = `customization:
  extraKernelArgs: [if.test=uki]
  systemExtensions:
    officialExtensions: [${EXTENSIONS.join(', ')}]
`;
const BOOT_TIMEOUT_MS = 240_000;

describe(
  'metal-amd64-uki.efi from the factory boots as the default loader (OVMF)',
  { timeout: 900_000 },
  () => {
    let t: TestFactory;
    let fx: FixtureManifest;
    let url: string;
    let work: string;
    let id: string;

    before(async () => {
      ({ t, fixtures: fx } = await makeFixtureFactory());
      ({ url } = await t.factory.listen());
      work = await mkdtemp(join(tmpdir(), 'if-uki-boot-'));
      id = await postSchematic(url, SCHEMATIC);
    });
    after(async () => {
      await t?.cleanup();
      if (work) await rm(work, { recursive: true, force: true });
    });

    for (const version of ['v1.5.5', 'v1.10.6']) {
      it(`${version}: the unsigned UKI boots with the cmdline of its .cmdline section`, async () => {
        const uki = join(work, `${version}-uki.efi`);
        const { headers } = await downloadSparse(`${url}/image/${id}/${version}/metal-amd64-uki.efi`, uki);
        assert.equal(headers.get('content-type'), 'application/efi');
        const pe = await readPe(uki, 'downloaded UKI');
        assert.equal(pe.certificateTable, undefined, 'unsigned');
        const names = pe.sections.map((s) => s.name);
        for (const s of ['.osrel', '.cmdline', '.linux', '.initrd'])
          assert.ok(names.includes(s), names.join(' '));
        assert.ok(!names.includes('.pcrsig') && !names.includes('.pcrpkey'), 'no PCR policy when unsigned');
        const cmdline = (
          await readSection(
            uki,
            pe.sections.find((s) => s.name === '.cmdline')!,
            true,
          )
        ).toString();

        const disk = join(work, `${version}.raw`);
        await makeEspDisk(disk, [{ dest: 'EFI/BOOT/BOOTX64.EFI', src: uki }]);
        const boot = await bootDisk({
          disk,
          firmware: 'uefi',
          timeoutMs: BOOT_TIMEOUT_MS,
          name: `factory-uki-${version}`,
        });
        assert.ok(boot.poweredOff, `fixture init powered off (log ${boot.logFile})`);
        process.stderr.write(`# boot ${version} uki: ${boot.durationMs} ms\n`);
        const r = parseReport(boot.serial);
        assert.equal(r.cmdline, cmdline, 'the stub passed .cmdline');
        assert.match(r.cmdline, /if\.test=uki/);
        assert.match(r.cmdline, /talos\.platform=metal/);
        assertSchematicReport(fx, r, version, id, EXTENSIONS);
        assert.ok(
          r.microcode.some((m) => m.path.endsWith('kernel/x86/microcode/GenuineIntel.bin')),
          JSON.stringify(r.microcode),
        );
      });
    }

    it('without Secure Boot configured: -secureboot paths are 400 saying so, the certificate 404', async () => {
      for (const path of [
        `/image/${id}/v1.10.6/metal-amd64-secureboot-uki.efi`,
        `/image/${id}/v1.10.6/metal-amd64-secureboot.iso`,
        `/image/${id}/v1.10.6/metal-amd64-secureboot.raw.xz`,
        `/image/${id}/v1.10.6/installer-amd64-secureboot.tar`,
        `/pxe/${id}/v1.10.6/metal-amd64-secureboot`,
      ]) {
        const res = await fetch(`${url}${path}`);
        assert.equal(res.status, 400, path);
        assert.match(await res.text(), /secure boot is disabled/, path);
      }
      const cert = await fetch(`${url}/secureboot/signing-cert.pem`);
      assert.equal(cert.status, 404);
      assert.match(await cert.text(), /secure boot is disabled/);
    });
  },
);
