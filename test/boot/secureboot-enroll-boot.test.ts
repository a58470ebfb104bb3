/**
 * Proof by boot of key auto-enrollment through the factory: a factory with `secureBoot.generate:
 * true` (its own key pair, kept under the data dir), a schematic with `secureboot.enrollKeys:
 * force`, its `metal-amd64-secureboot.iso` (v1.10.6). OVMF starts in setup mode (no PK) with a
 * persistent vars file: the first boot is systemd-boot enrolling PK/KEK/db from the ISO's
 * `loader/keys/auto/` and resetting (QEMU runs with `-no-reboot`, so the reset ends it); the
 * second boot, same vars, has Secure Boot enforced with the factory's certificate, and the signed
 * systemd-boot → signed UKI chain boots to the report with the kernel saying Secure Boot is on.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { FixtureManifest } from '../fixtures/manifest.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';
import { bootIso, copyUefiVars } from '../helpers/qemu.js';
import { parseReport } from '../helpers/report.js';
import { assertSchematicReport } from '../helpers/schematic-report.js';
import { downloadSparse } from '../helpers/sparse-file.js';
import { postSchematic } from '../helpers/post-schematic.js';

const exec = promisify(execFile);
const VERSION = 'v1.10.6';
const SCHEMATIC = `customization:
  extraKernelArgs: [console=ttyS0, if.test=enroll]
  secureboot:
    enrollKeys: force
`;
const BOOT_TIMEOUT_MS = 300_000;

describe('auto-enrollment of a factory-generated key from the secure-boot ISO', { timeout: 900_000 }, () => {
  let t: TestFactory;
  let fx: FixtureManifest;
  let url: string;
  let work: string;
  let id: string;

  before(async () => {
    ({ t, fixtures: fx } = await makeFixtureFactory({ secureBoot: { generate: true } }));
    ({ url } = await t.factory.listen());
    work = await mkdtemp(join(tmpdir(), 'if-sb-enroll-'));
    id = await postSchematic(url, SCHEMATIC);
  });
  after(async () => {
    await t?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('setup mode: systemd-boot enrolls PK/KEK/db and resets; the next boot is enforced and succeeds', async () => {
    const certRes = await fetch(`${url}/secureboot/signing-cert.pem`);
    assert.equal(certRes.status, 200);
    const cert = join(work, 'factory-cert.pem');
    await writeFile(cert, await certRes.text());

    const iso = join(work, 'enroll.iso');
    await downloadSparse(`${url}/image/${id}/${VERSION}/metal-amd64-secureboot.iso`, iso);
    const extract = async (from: string): Promise<string> => {
      const dest = join(work, from.replace(/\//g, '_'));
      await exec('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', from, dest]);
      return dest;
    };
    assert.match(await readFile(await extract('/loader/loader.conf'), 'utf8'), /^secure-boot-enroll force$/m);
    // The loader and the UKI are signed with the generated key the certificate route serves.
    for (const efi of ['/EFI/BOOT/BOOTX64.EFI', `/EFI/Linux/Talos-${VERSION}.efi`]) {
      const v = await exec('sbverify', ['--cert', cert, await extract(efi)]);
      assert.match(v.stdout + v.stderr, /Signature verification OK/, efi);
    }

    const vars = join(work, 'vars.fd');
    await copyUefiVars('setup', vars);
    const first = await bootIso({
      iso,
      firmware: 'uefi',
      secureBoot: 'setup',
      uefiVars: vars,
      timeoutMs: BOOT_TIMEOUT_MS,
      name: 'factory-enroll-1',
    });
    process.stderr.write(`# boot factory-enroll-1 (enroll + reset): ${first.durationMs} ms\n`);
    assert.match(
      first.serial,
      /Enrolling secure boot keys from directory: \\loader\\keys\\auto/,
      `log ${first.logFile}`,
    );
    assert.doesNotMatch(first.serial, /Failed to write/, `log ${first.logFile}`);
    assert.doesNotMatch(first.serial, /IFREPORT-BEGIN/, 'enrollment resets before booting anything');

    const second = await bootIso({
      iso,
      firmware: 'uefi',
      secureBoot: 'setup',
      uefiVars: vars,
      timeoutMs: BOOT_TIMEOUT_MS,
      name: 'factory-enroll-2',
    });
    process.stderr.write(`# boot factory-enroll-2 (enforced): ${second.durationMs} ms\n`);
    assert.ok(second.poweredOff, `fixture init powered off (log ${second.logFile})`);
    assert.match(second.serial, /EFI stub: UEFI Secure Boot is enabled/, `log ${second.logFile}`);
    assert.match(second.serial, /secureboot: Secure boot enabled/, `log ${second.logFile}`);
    const r = parseReport(second.serial);
    assertSchematicReport(fx, r, VERSION, id, []);
    assert.match(r.cmdline, /if\.test=enroll/);
  });
});
