/**
 * Proof by boot (QEMU TCG, OVMF) of the UKI writer and the Secure Boot signer, on the fixture
 * release v1.10.6 amd64 (its systemd stub, kernel and base initramfs): each UKI is the default
 * loader `EFI/BOOT/BOOTX64.EFI` on a GPT disk with a FAT ESP made by the plain Debian tools
 * (test/helpers/esp-disk.ts); nobody passes `-append`, so the cmdline the fixture init reports
 * can only come from the UKI's `.cmdline` section.
 *
 * - Secure Boot off: the unsigned UKI boots.
 * - `OVMF_CODE_4M.snakeoil.fd` + a copy of `OVMF_VARS_4M.snakeoil.fd`, Secure Boot enforced: the
 *   UKI signed with the snakeoil key boots and the kernel says Secure Boot is enabled; an
 *   unsigned and a wrongly-signed UKI are refused (Access Denied, then no bootable option; bounded
 *   by `stopOn`).
 * - Auto-enrollment: OVMF in setup mode, signed systemd-boot + `loader.conf` `secure-boot-enroll
 *   force` + `loader/keys/auto/{PK,KEK,db}.auth` from a freshly generated key; systemd-boot (v252
 *   in the fixture) enrolls and resets, then the enforced boot of the signed UKI succeeds. The
 *   same with upstream's PEM-in-ESL certificates shows whether OVMF accepts PEM.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildUki, type UkiBuildInput } from '../../src/builders/uki/build.js';
import { deriveQuirks } from '../../src/profile/quirks.js';
import { parseTalosVersion } from '../../src/profile/version.js';
import { signPe } from '../../src/secureboot/authenticode.js';
import { enrollmentFiles } from '../../src/secureboot/efi-vars.js';
import {
  generateSigningIdentity,
  loadSigningIdentity,
  type SigningIdentity,
} from '../../src/secureboot/keys.js';
import { makeEspDisk, type EspFile } from '../helpers/esp-disk.js';
import { fixtureReleases } from '../helpers/fixture-factory.js';
import { bootDisk, copyUefiVars, type BootResult, type SecureBootMode } from '../helpers/qemu.js';
import { parseReport } from '../helpers/report.js';
import type { FixtureManifest, FixtureVersion } from '../fixtures/manifest.js';

const TAG = 'v1.10.6';
const BOOT_TIMEOUT_MS = 180_000;
const SB_ENABLED = /secureboot: Secure boot enabled/;

let fx: FixtureManifest;
let v: FixtureVersion;
let dir: string;
let snakeoil: SigningIdentity;
let pcrKey: KeyObject;

const abs = (rel: string): string => path.join(fx.root, rel);

before(async () => {
  fx = await fixtureReleases();
  v = fx.versions.find((x) => x.spec.tag === TAG)!;
  dir = await mkdtemp(path.join(os.tmpdir(), 'sb-boot-'));
  snakeoil = await loadSigningIdentity(
    {
      path: '/usr/share/ovmf/PkKek-1-snakeoil.key',
      configKey: 'secureBoot.signingKeyPath',
      password: 'snakeoil',
    },
    { path: '/usr/share/ovmf/PkKek-1-snakeoil.pem', configKey: 'secureBoot.signingCertPath' },
  );
  ({ privateKey: pcrKey } = generateKeyPairSync('rsa', { modulusLength: 2048 }));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cmdlineFor = (test: string): string =>
  `console=ttyS0 panic=-1 talos.platform=metal fixture.test=${test}`;

/** Builds a UKI from the fixture inputs (signed when `signer` is given). */
async function uki(name: string, cmdline: string, signer?: SigningIdentity): Promise<string> {
  const a = v.artifacts.amd64!;
  const input: UkiBuildInput = {
    stubPath: abs(a.systemdStub),
    stubWhat: `systemd-stub.efi of ${TAG} amd64`,
    arch: 'amd64',
    kernelPath: abs(a.vmlinuz),
    initrdPath: abs(a.initramfs),
    cmdline,
    version: TAG,
    quirks: deriveQuirks(parseTalosVersion(TAG)),
    medium: 'uki',
    sourceDateEpoch: 1_700_000_000,
    tmpDir: dir,
    ...(signer ? { signing: { signer, pcrKey } } : {}),
  };
  const out = path.join(dir, `${name}.efi`);
  await buildUki(input, out);
  return out;
}

async function disk(name: string, files: EspFile[]): Promise<string> {
  const p = path.join(dir, `${name}.raw`);
  await makeEspDisk(p, files);
  return p;
}

/** Boots a disk under OVMF until the fixture init powers off. */
function bootToReport(
  diskPath: string,
  secureBoot: SecureBootMode,
  name: string,
  uefiVars?: string,
): Promise<BootResult> {
  return bootDisk({
    disk: diskPath,
    firmware: 'uefi',
    secureBoot,
    timeoutMs: BOOT_TIMEOUT_MS,
    name,
    ...(uefiVars ? { uefiVars } : {}),
  });
}

/**
 * Boots a disk that firmware must refuse: "Access Denied", then OVMF tries the next boot options
 * (its built-in shell is refused too under this firmware: Security Violation) and ends at "No
 * bootable option", or at the shell prompt on builds that allow it.
 */
async function bootRefused(diskPath: string, name: string): Promise<BootResult> {
  const res = await bootDisk({
    disk: diskPath,
    firmware: 'uefi',
    secureBoot: 'snakeoil',
    timeoutMs: BOOT_TIMEOUT_MS,
    name,
    stopOn: /No bootable option or device was found|Shell> |IFREPORT-BEGIN/,
  });
  assert.match(res.serial, /Access Denied/, `firmware says Access Denied (log ${res.logFile})`);
  assert.doesNotMatch(res.serial, /IFREPORT-BEGIN|EFI stub:/, 'the kernel never started');
  assert.equal(res.stoppedOnMatch, true);
  return res;
}

describe('UKI as the default loader on a GPT/ESP disk (OVMF)', () => {
  it(
    'unsigned, Secure Boot off: boots with the cmdline from .cmdline',
    { timeout: BOOT_TIMEOUT_MS + 60_000 },
    async () => {
      const cmdline = cmdlineFor('uki-unsigned');
      const d = await disk('unsigned', [
        { dest: 'EFI/BOOT/BOOTX64.EFI', src: await uki('unsigned', cmdline) },
      ]);
      const res = await bootToReport(d, 'off', 'uki-sb-off');
      const r = parseReport(res.serial);
      assert.equal(res.poweredOff, true, `clean power-off (log ${res.logFile})`);
      assert.equal(r.cmdline, cmdline);
      assert.equal(r.kver, fx.kernels.amd64!.kver);
      assert.equal(r.rootfs, 'ok');
      assert.deepEqual(r.errors, []);
    },
  );

  it(
    'signed with the snakeoil key: boots with Secure Boot enforced',
    { timeout: BOOT_TIMEOUT_MS + 60_000 },
    async () => {
      const cmdline = cmdlineFor('uki-snakeoil');
      const d = await disk('snakeoil', [
        { dest: 'EFI/BOOT/BOOTX64.EFI', src: await uki('snakeoil', cmdline, snakeoil) },
      ]);
      const res = await bootToReport(d, 'snakeoil', 'uki-sb-snakeoil');
      assert.match(res.serial, /EFI stub: UEFI Secure Boot is enabled/);
      assert.match(res.serial, SB_ENABLED);
      const r = parseReport(res.serial);
      assert.equal(res.poweredOff, true, `clean power-off (log ${res.logFile})`);
      assert.equal(r.cmdline, cmdline);
    },
  );

  it('unsigned under enforced Secure Boot: refused', { timeout: BOOT_TIMEOUT_MS + 60_000 }, async () => {
    const d = await disk('refused-unsigned', [
      { dest: 'EFI/BOOT/BOOTX64.EFI', src: await uki('refused-unsigned', cmdlineFor('refused')) },
    ]);
    await bootRefused(d, 'uki-sb-unsigned');
  });

  it(
    'signed with another key under enforced Secure Boot: refused',
    { timeout: BOOT_TIMEOUT_MS + 60_000 },
    async () => {
      const other = generateSigningIdentity({ commonName: 'not enrolled' });
      const d = await disk('refused-wrong', [
        { dest: 'EFI/BOOT/BOOTX64.EFI', src: await uki('refused-wrong', cmdlineFor('refused'), other) },
      ]);
      await bootRefused(d, 'uki-sb-wrong-key');
    },
  );
});

/** An ESP for systemd-boot auto-enrollment of `id`'s certificate. */
async function enrollmentDisk(
  name: string,
  id: SigningIdentity,
  encoding: 'der' | 'pem',
  cmdline: string,
): Promise<string> {
  const sdboot = path.join(dir, `${name}-sd-boot.efi`);
  await signPe(abs(v.artifacts.amd64!.systemdBoot), sdboot, id, `systemd-boot.efi of ${TAG} amd64`);
  const auth = enrollmentFiles({ signer: id, timestamp: new Date(1_700_000_000_000), encoding });
  return disk(name, [
    { dest: 'EFI/BOOT/BOOTX64.EFI', src: sdboot },
    { dest: `EFI/Linux/Talos-${TAG}.efi`, src: await uki(`${name}-uki`, cmdline, id) },
    { dest: 'loader/loader.conf', src: Buffer.from('timeout 0\nsecure-boot-enroll force\n') },
    { dest: 'loader/keys/auto/PK.auth', src: auth.PK },
    { dest: 'loader/keys/auto/KEK.auth', src: auth.KEK },
    { dest: 'loader/keys/auto/db.auth', src: auth.db },
  ]);
}

describe('auto-enrollment by systemd-boot from loader/keys/auto (OVMF setup mode)', () => {
  it(
    'DER certificates: enrolls, resets, then the signed UKI boots with Secure Boot enforced',
    { timeout: 3 * BOOT_TIMEOUT_MS },
    async () => {
      const id = generateSigningIdentity({ commonName: 'image-factory test enrollment' });
      const cmdline = cmdlineFor('enrolled');
      const d = await enrollmentDisk('enroll-der', id, 'der', cmdline);
      const vars = path.join(dir, 'enroll-der-vars.fd');
      await copyUefiVars('setup', vars);
      const first = await bootToReport(d, 'setup', 'enroll-der-1', vars);
      assert.match(
        first.serial,
        /Enrolling secure boot keys from directory: \\loader\\keys\\auto/,
        `log ${first.logFile}`,
      );
      assert.doesNotMatch(first.serial, /Failed to write/);
      assert.doesNotMatch(first.serial, /IFREPORT-BEGIN/, 'enrollment resets before booting anything');
      const second = await bootToReport(d, 'setup', 'enroll-der-2', vars);
      assert.match(second.serial, SB_ENABLED, `log ${second.logFile}`);
      const r = parseReport(second.serial);
      assert.equal(second.poweredOff, true);
      assert.equal(r.cmdline, cmdline);
    },
  );

  it(
    'PEM certificates (upstream’s ESL encoding): OVMF does not accept them',
    { timeout: 3 * BOOT_TIMEOUT_MS },
    async () => {
      const id = generateSigningIdentity({ commonName: 'image-factory test enrollment (PEM)' });
      const d = await enrollmentDisk('enroll-pem', id, 'pem', cmdlineFor('enrolled-pem'));
      const vars = path.join(dir, 'enroll-pem-vars.fd');
      await copyUefiVars('setup', vars);
      const first = await bootDisk({
        disk: d,
        firmware: 'uefi',
        secureBoot: 'setup',
        uefiVars: vars,
        timeoutMs: BOOT_TIMEOUT_MS,
        name: 'enroll-pem-1',
        stopOn: /IFREPORT-POWEROFF|Shell> /,
      });
      assert.match(first.serial, /Enrolling secure boot keys/, `log ${first.logFile}`);
      // Observed with OVMF 2022.11 (Debian 12): the first variable systemd-boot writes (db) is
      // refused with EFI_INVALID_PARAMETER — EDK2 parses EFI_CERT_X509_GUID data as DER — and
      // systemd-boot then boots on in setup mode, without Secure Boot.
      assert.match(first.serial, /Failed to write db secure boot variable: Invalid Parameter/);
      assert.match(first.serial, /secureboot: Secure boot disabled/);
    },
  );
});
