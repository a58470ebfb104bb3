/**
 * UKI assembly and signing against real tools, on the fixture release's systemd stub, kernel,
 * initramfs and systemd-boot (amd64 and arm64):
 * - every signed binary verifies with `sbverify --cert` and `osslsigncode verify -CAfile`; one
 *   signed with another key and an unsigned one fail both;
 * - the UKI's sections, dumped by binutils `objcopy --dump-section` (an independent PE reader),
 *   hold what the plan says, and its `.pcrsig` policy equals a python3/hashlib PCR 11 derivation
 *   over those dumped sections;
 * - signed outputs are reproducible (no signingTime);
 * - PK/KEK/db `.auth` files are byte-identical to efitools' `sign-efi-sig-list` output.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { readPe, readSection } from '../../src/builders/formats/pe/reader.js';
import { buildUki, type UkiBuildInput } from '../../src/builders/uki/build.js';
import { osReleaseText } from '../../src/builders/uki/os-release.js';
import { deriveQuirks } from '../../src/profile/quirks.js';
import { parseTalosVersion } from '../../src/profile/version.js';
import { authenticodeDigest, signPe } from '../../src/secureboot/authenticode.js';
import {
  certificateOwnerGuid,
  enrollmentFiles,
  x509SignatureDatabase,
} from '../../src/secureboot/efi-vars.js';
import {
  generateSigningIdentity,
  loadSigningIdentity,
  pemEncode,
  type SigningIdentity,
} from '../../src/secureboot/keys.js';
import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { loadWellKnownCertificates, x509Entries } from '../../src/secureboot/well-known-certs.js';
import { fixtureReleases } from '../helpers/fixture-factory.js';
import type { FixtureManifest } from '../fixtures/manifest.js';

const exec = promisify(execFile);
const SNAKEOIL_KEY = '/usr/share/ovmf/PkKek-1-snakeoil.key';
const SNAKEOIL_CERT = '/usr/share/ovmf/PkKek-1-snakeoil.pem';

let fx: FixtureManifest;
let dir: string;
let snakeoil: SigningIdentity;
let other: SigningIdentity;
let otherCert: string;
let pcrKey: KeyObject;

const abs = (rel: string): string => path.join(fx.root, rel);

before(async () => {
  fx = await fixtureReleases();
  dir = await mkdtemp(path.join(os.tmpdir(), 'sb-signing-'));
  snakeoil = await loadSigningIdentity(
    { path: SNAKEOIL_KEY, configKey: 'secureBoot.signingKeyPath', password: 'snakeoil' },
    { path: SNAKEOIL_CERT, configKey: 'secureBoot.signingCertPath' },
  );
  other = generateSigningIdentity({ commonName: 'someone else' });
  otherCert = path.join(dir, 'other.pem');
  await writeFile(otherCert, other.certificatePem);
  ({ privateKey: pcrKey } = generateKeyPairSync('rsa', { modulusLength: 2048 }));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Exit status of a verifier (0 = verified). */
async function verifies(cmd: string, args: string[]): Promise<boolean> {
  try {
    await exec(cmd, args);
    return true;
  } catch {
    return false;
  }
}
const sbverify = (file: string, cert: string): Promise<boolean> =>
  verifies('sbverify', ['--cert', cert, file]);
const osslsigncode = (file: string, cert: string): Promise<boolean> =>
  verifies('osslsigncode', ['verify', '-in', file, '-CAfile', cert]);

function input(tag: string, arch: 'amd64' | 'arm64', extra: Partial<UkiBuildInput> = {}): UkiBuildInput {
  const v = fx.versions.find((x) => x.spec.tag === tag)!;
  const a = v.artifacts[arch]!;
  return {
    stubPath: abs(a.systemdStub),
    stubWhat: `systemd-stub.efi of ${tag} ${arch}`,
    arch,
    kernelPath: abs(a.vmlinuz),
    initrdPath: abs(a.initramfs),
    cmdline: `console=${arch === 'amd64' ? 'ttyS0' : 'ttyAMA0'} panic=-1 talos.platform=metal`,
    version: tag,
    quirks: deriveQuirks(parseTalosVersion(tag)),
    medium: 'uki',
    sourceDateEpoch: 1_700_000_000,
    tmpDir: dir,
    ...extra,
  };
}

const sha = async (p: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

describe('signed UKI and systemd-boot verify with sbverify and osslsigncode', () => {
  it(
    'v1.10.6 amd64: signed UKI verifies; unsigned and wrongly-signed ones fail both tools',
    { timeout: 120_000 },
    async () => {
      const signed = path.join(dir, 'uki-signed.efi');
      const res = await buildUki(
        input('v1.10.6', 'amd64', { signing: { signer: snakeoil, pcrKey } }),
        signed,
      );
      assert.equal(await sbverify(signed, SNAKEOIL_CERT), true, 'sbverify');
      assert.equal(await osslsigncode(signed, SNAKEOIL_CERT), true, 'osslsigncode');
      assert.equal(await sbverify(signed, otherCert), false, 'sbverify with another cert');
      assert.equal(await osslsigncode(signed, otherCert), false, 'osslsigncode with another cert');
      assert.equal(res.kernelVersion, fx.kernels.amd64!.kver);

      const unsigned = path.join(dir, 'uki-unsigned.efi');
      await buildUki(input('v1.10.6', 'amd64'), unsigned);
      assert.equal(await sbverify(unsigned, SNAKEOIL_CERT), false);
      assert.equal(await osslsigncode(unsigned, SNAKEOIL_CERT), false);

      const wrong = path.join(dir, 'uki-wrong.efi');
      await signPe(unsigned, wrong, other, 'uki');
      assert.equal(await sbverify(wrong, SNAKEOIL_CERT), false);
      assert.equal(await osslsigncode(wrong, SNAKEOIL_CERT), false);
      assert.equal(await sbverify(wrong, otherCert), true, 'the other key’s own cert verifies it');
      assert.equal(await osslsigncode(wrong, otherCert), true);

      // Re-signing replaces the signature (one signature, verifies with the new key only).
      const resigned = path.join(dir, 'uki-resigned.efi');
      await signPe(wrong, resigned, snakeoil, 'uki');
      assert.equal(await osslsigncode(resigned, SNAKEOIL_CERT), true);
      assert.equal(await sbverify(resigned, otherCert), false);
      assert.deepEqual(await authenticodeDigest(resigned, 'x'), await authenticodeDigest(unsigned, 'x'));
    },
  );

  for (const arch of ['amd64', 'arm64'] as const) {
    it(`systemd-boot.efi (${arch}) signed with the snakeoil key verifies with both tools`, async () => {
      const a = fx.versions.find((x) => x.spec.tag === 'v1.10.6')!.artifacts[arch]!;
      const out = path.join(dir, `sd-boot-${arch}.efi`);
      await signPe(abs(a.systemdBoot), out, snakeoil, `systemd-boot.efi of v1.10.6 ${arch}`);
      assert.equal(await sbverify(out, SNAKEOIL_CERT), true);
      assert.equal(await osslsigncode(out, SNAKEOIL_CERT), true);
      assert.equal(await osslsigncode(out, otherCert), false);
      assert.equal(await osslsigncode(abs(a.systemdBoot), SNAKEOIL_CERT), false, 'the unsigned input fails');
    });
  }

  it('signed outputs are reproducible (two builds, same sha256)', { timeout: 120_000 }, async () => {
    const a = path.join(dir, 'r1.efi');
    const b = path.join(dir, 'r2.efi');
    await buildUki(input('v1.10.6', 'amd64', { signing: { signer: snakeoil, pcrKey } }), a);
    await buildUki(input('v1.10.6', 'amd64', { signing: { signer: snakeoil, pcrKey } }), b);
    assert.equal(await sha(a), await sha(b));
  });
});

/** PCR 11 (sha256) + PolicyPCR from section files, in measurement order; python3 hashlib only. */
const PYTHON_PCR = String.raw`
import hashlib, struct, sys
pcr = b'\0' * 32
def extend(d):
    global pcr
    pcr = hashlib.sha256(pcr + hashlib.sha256(d).digest()).digest()
for pair in sys.argv[1:]:
    name, f = pair.split('=', 1)
    extend(name.encode() + b'\0'); extend(open(f, 'rb').read())
for p in ('enter-initrd', 'leave-initrd', 'enter-machined'):
    extend(p.encode())
sel = struct.pack('>IHB', 1, 0xb, 3) + bytes([0, 8, 0])
print(hashlib.sha256(b'\0' * 32 + struct.pack('>I', 0x17f) + sel + hashlib.sha256(pcr).digest()).hexdigest())
`;

describe('UKI content, read back independently', () => {
  it(
    'v1.10.6 amd64 signed: objcopy-dumped sections match the plan; .pcrsig policy = python derivation',
    { timeout: 120_000 },
    async () => {
      const uki = path.join(dir, 'content.efi');
      const cmdline = 'console=ttyS0 panic=-1 talos.platform=metal';
      const res = await buildUki(
        input('v1.10.6', 'amd64', { signing: { signer: snakeoil, pcrKey }, cmdline }),
        uki,
      );
      const pe = await readPe(uki, 'uki');
      assert.deepEqual(
        pe.sections.map((s) => s.name),
        [
          '.text',
          '.reloc',
          '.data',
          '.dynamic',
          '.rela',
          '.dynsym',
          '.sbat',
          '.sdmagic',
          '.osrel',
          '.cmdline',
          '.uname',
          '.pcrpkey',
          '.linux',
          '.initrd',
          '.pcrsig',
        ],
      );
      const dump = async (name: string): Promise<string> => {
        const file = path.join(dir, `dump${name}`);
        await exec('objcopy', [
          `--dump-section`,
          `${name}=${file}`,
          uki,
          path.join(dir, 'objcopy-discard.efi'),
        ]);
        return file;
      };
      const v = fx.versions.find((x) => x.spec.tag === 'v1.10.6')!.artifacts.amd64!;
      assert.equal(await readFile(await dump('.osrel'), 'utf8'), osReleaseText('v1.10.6'));
      assert.equal(await readFile(await dump('.cmdline'), 'utf8'), cmdline);
      assert.equal(await readFile(await dump('.uname'), 'utf8'), fx.kernels.amd64!.kver);
      // The fixture's Debian stub is systemd 252: no multi-profile support, so no `.profile`s.
      assert.equal(res.stubVersion, 252);
      assert.equal(res.profilesDropped, true);
      assert.equal(
        await sha(await dump('.linux')),
        fx.kernels.amd64!.vmlinuzSha256,
        '.linux = the unsigned kernel',
      );
      assert.equal(await sha(await dump('.initrd')), v.initramfsSha256);
      assert.match(await readFile(await dump('.pcrpkey'), 'utf8'), /^-----BEGIN PUBLIC KEY-----\n/);
      // .sbat as measured = the stub's .sbat, first VirtualSize bytes.
      const stub = await readPe(abs(v.systemdStub), 'stub');
      const stubSbat = await readSection(
        abs(v.systemdStub),
        stub.sections.find((s) => s.name === '.sbat')!,
        true,
      );
      const sbatFile = path.join(dir, 'sbat.bin');
      await writeFile(sbatFile, stubSbat);
      const pcrsig = JSON.parse(await readFile(await dump('.pcrsig'), 'utf8')) as Record<
        string,
        { pol: string }[]
      >;
      assert.deepEqual(Object.keys(pcrsig), ['sha256', 'sha384', 'sha512']);
      assert.equal(res.pcrSignatures.length, 1);
      const order = ['.linux', '.osrel', '.cmdline', '.initrd', '.uname', '.sbat', '.pcrpkey'];
      const args: string[] = [];
      for (const n of order) args.push(`${n}=${n === '.sbat' ? sbatFile : await dump(n)}`);
      const { stdout } = await exec('python3', ['-c', PYTHON_PCR, ...args]);
      assert.equal(pcrsig.sha256![0]!.pol, stdout.trim());
    },
  );

  it(
    'arm64: a UKI from the aarch64 stub has machine 0xaa64 and the appended sections',
    { timeout: 120_000 },
    async () => {
      const uki = path.join(dir, 'arm64.efi');
      const res = await buildUki(input('v1.10.6', 'arm64', { signing: { signer: snakeoil, pcrKey } }), uki);
      const pe = await readPe(uki, 'uki');
      assert.equal(pe.machine, 0xaa64);
      assert.equal(pe.arch, 'arm64');
      // Debian's arm64 stub has a 160-byte optional header (6 directories): widened to 240/16.
      assert.equal(pe.sizeOfOptionalHeader, 240);
      assert.equal(pe.numberOfRvaAndSizes, 16);
      assert.equal(res.kernelVersion, fx.kernels.arm64!.kver);
      const names = pe.sections.map((s) => s.name);
      assert.deepEqual(names.slice(names.indexOf('.osrel')), [
        '.osrel',
        '.cmdline',
        '.uname',
        '.pcrpkey',
        '.linux',
        '.initrd',
        '.pcrsig',
      ]);
      for (const s of pe.sections.slice(names.indexOf('.osrel')))
        assert.equal(s.virtualAddress % pe.sectionAlignment, 0);
      assert.equal(await sbverify(uki, SNAKEOIL_CERT), true);
      assert.equal(await osslsigncode(uki, SNAKEOIL_CERT), true);
    },
  );

  it(
    'v1.5.5 signed: the 1.5 order with the signed kernel; SHA-1 bank present',
    { timeout: 120_000 },
    async () => {
      const uki = path.join(dir, 'v155.efi');
      await buildUki(input('v1.5.5', 'amd64', { signing: { signer: snakeoil, pcrKey }, medium: 'iso' }), uki);
      const pe = await readPe(uki, 'uki');
      const names = pe.sections.map((s) => s.name);
      assert.deepEqual(names.slice(names.indexOf('.osrel')), [
        '.osrel',
        '.cmdline',
        '.initrd',
        '.uname',
        '.pcrpkey',
        '.linux',
        '.pcrsig',
      ]);
      const linux = path.join(dir, 'v155-linux');
      await exec('objcopy', [
        '--dump-section',
        `.linux=${linux}`,
        uki,
        path.join(dir, 'objcopy-discard.efi'),
      ]);
      assert.equal(await sbverify(linux, SNAKEOIL_CERT), true, '.linux is Authenticode-signed (1.5–1.9)');
      const sig = JSON.parse(
        (
          await readSection(
            uki,
            pe.sections.find((s) => s.name === '.pcrsig')!,
            true,
          )
        ).toString(),
      ) as object;
      assert.deepEqual(Object.keys(sig), ['sha1', 'sha256', 'sha384', 'sha512']);
    },
  );

  it('a stub that is not a PE image is a clear error naming the input', async () => {
    const bad = path.join(dir, 'not-a-stub.efi');
    await writeFile(bad, 'garbage');
    await assert.rejects(buildUki(input('v1.10.6', 'amd64', { stubPath: bad }), path.join(dir, 'x.efi')), {
      message: 'systemd-stub.efi of v1.10.6 amd64: not a PE image (no "MZ" DOS header)',
    });
    await assert.rejects(
      buildUki(input('v1.10.6', 'amd64', { arch: 'arm64' }), path.join(dir, 'x.efi')),
      /systemd-stub.efi of v1.10.6 amd64: a amd64 stub, expected arm64/,
    );
  });
});

describe('PK/KEK/db .auth files', () => {
  it('are byte-identical to efitools sign-efi-sig-list (DER ESL, fixed timestamp)', async () => {
    const ts = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
    const files = enrollmentFiles({ signer: snakeoil, timestamp: ts });
    const plainKey = path.join(dir, 'snakeoil-plain.key');
    await writeFile(plainKey, snakeoil.key.export({ type: 'pkcs8', format: 'pem' }));
    const owner = certificateOwnerGuid(snakeoil.certificatePem);
    const esl = path.join(dir, 'own.esl');
    await exec('cert-to-efi-sig-list', ['-g', owner, SNAKEOIL_CERT, esl]);
    assert.deepEqual(await readFile(esl), x509SignatureDatabase([{ owner, data: snakeoil.certificateDer }]));
    for (const name of ['PK', 'KEK', 'db'] as const) {
      const ref = path.join(dir, `${name}.ref.auth`);
      await exec('sign-efi-sig-list', [
        '-t',
        '2024-01-02 03:04:05',
        '-k',
        plainKey,
        '-c',
        SNAKEOIL_CERT,
        name,
        esl,
        ref,
      ]);
      assert.deepEqual(files[name], await readFile(ref), `${name}.auth`);
    }
  });

  it('owner GUID is the errata E11 name-based UUID of the PEM text; PEM encoding option stores the text', () => {
    const guid = certificateOwnerGuid(snakeoil.certificatePem);
    assert.match(guid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const pem = enrollmentFiles({ signer: snakeoil, timestamp: new Date(0), encoding: 'pem' });
    assert.ok(pem.db.includes(Buffer.from(snakeoil.certificatePem)));
    assert.equal(pemEncode('CERTIFICATE', snakeoil.certificateDer), snakeoil.certificatePem);
  });

  it('includeWellKnownCertificates: Microsoft KEK CA / UEFI CA from Debian ovmf’s enrolled vars, appended to KEK and db', async () => {
    const wk = await loadWellKnownCertificates();
    const cn = (d: Buffer): string =>
      /CN=(.*)/.exec(new X509Certificate(d).subject)?.[1] ?? new X509Certificate(d).subject;
    assert.deepEqual(wk.kek.map(cn), ['Microsoft Corporation KEK CA 2011']);
    assert.deepEqual(wk.db.map(cn), ['Microsoft Corporation UEFI CA 2011']);
    const files = enrollmentFiles({
      signer: snakeoil,
      timestamp: new Date(0),
      extraKek: wk.kek,
      extraDb: wk.db,
    });
    // .auth = EFI_TIME (16) + WIN_CERTIFICATE_UEFI_GUID (dwLength) + ESLs.
    const esl = (auth: Buffer): Buffer => auth.subarray(16 + auth.readUInt32LE(16));
    assert.deepEqual(x509Entries(esl(files.PK)).map(cn), [cn(snakeoil.certificateDer)]);
    assert.deepEqual(x509Entries(esl(files.KEK)).map(cn), [
      cn(snakeoil.certificateDer),
      'Microsoft Corporation KEK CA 2011',
    ]);
    assert.deepEqual(x509Entries(esl(files.db)).map(cn), [
      cn(snakeoil.certificateDer),
      'Microsoft Corporation UEFI CA 2011',
    ]);
  });
});
