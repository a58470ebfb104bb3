/**
 * Proof by boot of the secure-boot media served by a factory configured with Debian's OVMF
 * snakeoil pair (`/usr/share/ovmf/PkKek-1-snakeoil.{key,pem}`, password `snakeoil`), Talos
 * v1.10.6, under `OVMF_CODE_4M.snakeoil.fd` + a copy of `OVMF_VARS_4M.snakeoil.fd` (the snakeoil
 * certificate is PK, KEK and db; Secure Boot enforced):
 *
 * - `GET /secureboot/signing-cert.pem` is the configured certificate;
 * - `metal-amd64-secureboot-uki.efi` verifies with `sbverify --cert` and `osslsigncode verify`
 *   and boots as the default loader of an ESP disk; the unsigned `metal-amd64-uki.efi` of the same
 *   factory is refused (Access Denied);
 * - `metal-amd64-secureboot.iso` boots from CD (signed systemd-boot → signed UKI);
 * - `metal-amd64-secureboot.raw.xz`: GPT `EFI`, `META` (sfdisk), META holds the schematic's values,
 *   and it boots;
 * - `installer-amd64-secureboot.tar`: `vmlinuz.efi` and `systemd-boot.efi` verify, the UKI boots;
 * - `/pxe/<id>/v1.10.6/metal-amd64-secureboot`: iPXE (Debian's ROM is unsigned, so Secure Boot
 *   off) chains the signed UKI and boots to the report.
 *
 * Talos ≥ 1.8 metal has only `console=tty0`; the schematic adds `console=ttyS0` so the kernel's
 * "Secure boot enabled" line reaches the serial port (the fixture init reports on ttyS0 itself).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { readPe, readSection } from '../../src/builders/formats/pe/reader.js';
import type { FixtureManifest } from '../fixtures/manifest.js';
import { partitionMiB, readMetaValues, sfdiskJson } from '../helpers/disk-inspect.js';
import { makeEspDisk } from '../helpers/esp-disk.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory, SNAKEOIL_SECURE_BOOT } from '../helpers/fixture-factory.js';
import { bootDisk, bootIso, bootPxe, PXE_GUEST_HOST, type BootResult } from '../helpers/qemu.js';
import { parseReport } from '../helpers/report.js';
import { assertSchematicReport } from '../helpers/schematic-report.js';
import { decompressSparse, downloadSparse } from '../helpers/sparse-file.js';
import { postSchematic } from '../helpers/post-schematic.js';

const exec = promisify(execFile);
const CERT = SNAKEOIL_SECURE_BOOT.signingCertPath;
const VERSION = 'v1.10.6';
const EXTENSIONS = ['siderolabs/amd-ucode'];
const META_VALUE = '{"externalIPs":["10.0.0.5"]}';
const SCHEMATIC = `customization:
  extraKernelArgs: [console=ttyS0, if.test=sb]
  meta:
    - key: 0xa
      value: '${META_VALUE}'
  systemExtensions:
    officialExtensions: [${EXTENSIONS.join(', ')}]
`;
const BOOT_TIMEOUT_MS = 300_000;
const SB_ENABLED = /secureboot: Secure boot enabled/;

describe('secure-boot media from a snakeoil-configured factory', { timeout: 2_400_000 }, () => {
  let t: TestFactory;
  let fx: FixtureManifest;
  let url: string;
  let port: number;
  let work: string;
  let id: string;

  before(async () => {
    ({ t, fixtures: fx } = await makeFixtureFactory({
      http: { externalURL: `http://${PXE_GUEST_HOST}/` },
      secureBoot: SNAKEOIL_SECURE_BOOT,
    }));
    ({ url, port } = await t.factory.listen());
    work = await mkdtemp(join(tmpdir(), 'if-sb-media-'));
    id = await postSchematic(url, SCHEMATIC);
  });
  after(async () => {
    await t?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const downloads = new Map<string, Promise<string>>();
  /** Downloads `/image/<id>/<version>/<file>` once per file. */
  function asset(file: string): Promise<string> {
    let p = downloads.get(file);
    if (!p) {
      const dest = join(work, file);
      p = downloadSparse(`${url}/image/${id}/${VERSION}/${file}`, dest).then(() => dest);
      downloads.set(file, p);
    }
    return p;
  }

  async function verifySigned(file: string): Promise<void> {
    const sb = await exec('sbverify', ['--cert', CERT, file]);
    assert.match(sb.stdout + sb.stderr, /Signature verification OK/, file);
    const os = await exec('osslsigncode', ['verify', '-in', file, '-CAfile', CERT]);
    assert.match(os.stdout, /Succeeded/, file);
  }

  /** Boots under enforced Secure Boot until the fixture init powers off; checks the kernel saw it. */
  async function bootEnforced(o: { disk?: string; iso?: string; name: string }): Promise<BootResult> {
    const common = {
      firmware: 'uefi',
      secureBoot: 'snakeoil',
      timeoutMs: BOOT_TIMEOUT_MS,
      name: o.name,
    } as const;
    const res = o.iso
      ? await bootIso({ ...common, iso: o.iso })
      : await bootDisk({ ...common, disk: o.disk! });
    process.stderr.write(`# boot ${o.name}: ${res.durationMs} ms\n`);
    assert.ok(res.poweredOff, `${o.name}: fixture init powered off (log ${res.logFile})`);
    assert.match(res.serial, /EFI stub: UEFI Secure Boot is enabled/, `${o.name} (log ${res.logFile})`);
    assert.match(res.serial, SB_ENABLED, `${o.name} (log ${res.logFile})`);
    return res;
  }

  function assertReport(res: BootResult): void {
    const r = parseReport(res.serial);
    assertSchematicReport(fx, r, VERSION, id, EXTENSIONS);
    assert.match(r.cmdline, /if\.test=sb/);
    assert.match(r.cmdline, /lockdown=confidentiality/);
  }

  it('GET /secureboot/signing-cert.pem is the configured certificate', async () => {
    const res = await fetch(`${url}/secureboot/signing-cert.pem`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-pem-file');
    assert.equal((await res.text()).trim(), (await readFile(CERT, 'utf8')).trim());
  });

  it('signed UKI: sbverify + osslsigncode verify; boots as the default loader with Secure Boot enforced', async () => {
    const uki = await asset('metal-amd64-secureboot-uki.efi');
    await verifySigned(uki);
    const pe = await readPe(uki, 'signed UKI');
    const names = pe.sections.map((s) => s.name);
    for (const s of ['.pcrpkey', '.pcrsig']) assert.ok(names.includes(s), names.join(' '));
    const cmdline = (
      await readSection(
        uki,
        pe.sections.find((s) => s.name === '.cmdline')!,
        true,
      )
    ).toString();
    const disk = join(work, 'signed-uki.raw');
    await makeEspDisk(disk, [{ dest: 'EFI/BOOT/BOOTX64.EFI', src: uki }]);
    const res = await bootEnforced({ disk, name: 'sb-factory-uki' });
    assertReport(res);
    assert.equal(parseReport(res.serial).cmdline, cmdline, 'the stub used .cmdline');
  });

  it('the unsigned metal-amd64-uki.efi of the same factory is refused (Access Denied)', async () => {
    const uki = await asset('metal-amd64-uki.efi');
    await assert.rejects(exec('sbverify', ['--cert', CERT, uki]), 'no signature');
    const disk = join(work, 'unsigned-uki.raw');
    await makeEspDisk(disk, [{ dest: 'EFI/BOOT/BOOTX64.EFI', src: uki }]);
    const res = await bootDisk({
      disk,
      firmware: 'uefi',
      secureBoot: 'snakeoil',
      timeoutMs: BOOT_TIMEOUT_MS,
      name: 'sb-factory-unsigned-uki',
      stopOn: /No bootable option or device was found|Shell> |IFREPORT-BEGIN/,
    });
    process.stderr.write(`# boot sb-factory-unsigned-uki (refused): ${res.durationMs} ms\n`);
    assert.match(res.serial, /Access Denied/, `firmware says Access Denied (log ${res.logFile})`);
    assert.doesNotMatch(res.serial, /IFREPORT-BEGIN|EFI stub:/, 'the kernel never started');
  });

  it('metal-amd64-secureboot.iso boots from CD with Secure Boot enforced', async () => {
    const iso = await asset('metal-amd64-secureboot.iso');
    const res = await bootEnforced({ iso, name: 'sb-factory-iso' });
    assertReport(res);
    assert.match(parseReport(res.serial).cmdline, /talos\.halt_if_installed=1/);
  });

  it('metal-amd64-secureboot.raw.xz: EFI + META (sfdisk), META values, boots with Secure Boot enforced', async () => {
    const xz = await asset('metal-amd64-secureboot.raw.xz');
    const raw = join(work, 'sb-disk.raw');
    const size = await decompressSparse('xz', xz, raw);
    const table = await sfdiskJson(raw);
    assert.equal(table.label, 'gpt');
    assert.deepEqual(
      partitionMiB(table).map(([n]) => n),
      ['EFI', 'META'],
    );
    assert.equal(table.partitions[0]!.type, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
    assert.equal(size % (1024 * 1024), 0);
    assert.deepEqual(await readMetaValues(raw), [[0x0a, META_VALUE]]);
    const res = await bootEnforced({ disk: raw, name: 'sb-factory-disk' });
    assertReport(res);
  });

  it('installer-amd64-secureboot.tar: vmlinuz.efi + systemd-boot.efi verify; the UKI boots enforced', async () => {
    const tar = await asset('installer-amd64-secureboot.tar');
    const dir = join(work, 'installer');
    await mkdir(dir);
    await exec('tar', ['-xf', tar, '-C', dir]);
    const [m] = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as [{ Layers: string[] }];
    const out = join(dir, 'artifacts');
    await mkdir(out);
    await exec('tar', ['-xf', join(dir, m.Layers.at(-1)!), '-C', out]);
    const uki = join(out, 'usr/install/amd64/vmlinuz.efi');
    const sdBoot = join(out, 'usr/install/amd64/systemd-boot.efi');
    await verifySigned(uki);
    await verifySigned(sdBoot);
    const disk = join(work, 'installer-uki.raw');
    await makeEspDisk(disk, [{ dest: 'EFI/BOOT/BOOTX64.EFI', src: uki }]);
    const res = await bootEnforced({ disk, name: 'sb-factory-installer-uki' });
    assertReport(res);
  });

  it('/pxe/…/metal-amd64-secureboot: iPXE (OVMF, Secure Boot off) chains the signed UKI', async () => {
    const base = `http://${PXE_GUEST_HOST}/image/${id}/${VERSION}`;
    const cmdline = await (
      await fetch(`${url}/image/${id}/${VERSION}/cmdline-metal-amd64-secureboot`)
    ).text();
    assert.match(cmdline, /lockdown=confidentiality/);
    const script = await (await fetch(`${url}/pxe/${id}/${VERSION}/metal-amd64-secureboot`)).text();
    assert.equal(
      script,
      `#!ipxe\n\nimgfree\nkernel ${base}/metal-amd64-secureboot-uki.efi ${cmdline}\nboot\n`,
    );
    const res = await bootPxe({
      bootUrl: `/pxe/${id}/${VERSION}/metal-amd64-secureboot`,
      factoryPort: port,
      firmware: 'uefi',
      timeoutMs: BOOT_TIMEOUT_MS,
      name: 'sb-factory-pxe',
    });
    process.stderr.write(`# boot sb-factory-pxe: ${res.durationMs} ms\n`);
    assert.ok(res.poweredOff, `fixture init powered off (log ${res.logFile})`);
    assert.match(res.serial, /metal-amd64-secureboot-uki\.efi/, 'iPXE fetched the UKI');
    const r = parseReport(res.serial);
    assertSchematicReport(fx, r, VERSION, id, EXTENSIONS);
    assert.ok(r.cmdline.endsWith(cmdline), `${r.cmdline} ends with the script's cmdline`);
  });
});
