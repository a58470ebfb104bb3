/**
 * PCR 11 prediction, policy digest, signature and `.pcrsig` JSON, checked against an independent
 * derivation: a python3 script (hashlib only, written from talos-imager §5.3 — not from our code)
 * measures the same section files and prints the PCR value and the PolicyPCR digest per bank;
 * `openssl dgst -<bank> -verify` checks each signature over the policy with the public key, and
 * `openssl rsa -RSAPublicKey_out | sha256sum` gives the `pkfp` fingerprint.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { deriveQuirks } from '../../src/profile/quirks.js';
import { parseTalosVersion } from '../../src/profile/version.js';
import {
  digestSection,
  pcrBanks,
  pcrKeyFingerprint,
  pcrPolicyDigest,
  pcrSignatureJson,
  predictPcr11,
  type MeasuredSection,
  type PcrBank,
} from '../../src/secureboot/pcr.js';

/** Independent PCR 11 + PolicyPCR computation (argv: bank, then name=file pairs in measurement order). */
const PYTHON = String.raw`
import hashlib, struct, sys
bank = sys.argv[1]
alg = {'sha1': 4, 'sha256': 0xb, 'sha384': 0xc, 'sha512': 0xd}[bank]
H = lambda b: hashlib.new(bank, b).digest()
pcr = b'\0' * hashlib.new(bank).digest_size
def extend(data):
    global pcr
    pcr = H(pcr + H(data))
for pair in sys.argv[2:]:
    name, f = pair.split('=', 1)
    extend(name.encode() + b'\0')
    extend(open(f, 'rb').read())
for phase in ('enter-initrd', 'leave-initrd', 'enter-machined'):
    extend(phase.encode())
sel = struct.pack('>IHB', 1, alg, 3) + bytes([0, 8, 0])
policy = hashlib.sha256(b'\0' * 32 + struct.pack('>I', 0x17f) + sel + hashlib.sha256(pcr).digest()).digest()
print(pcr.hex(), policy.hex())
`;

let dir: string;
let key: KeyObject;
let keyPem: string;
const files: Record<string, string> = {};
const contents: Record<string, Buffer> = {
  '.linux': Buffer.alloc(300_000, 0x4d),
  '.osrel': Buffer.from('NAME="Talos"\nID=talos\n'),
  '.cmdline': Buffer.from('console=ttyS0 talos.platform=metal'),
  '.initrd': Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251)),
  '.uname': Buffer.from('6.12.40-talos'),
  '.sbat': Buffer.from('sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n'),
  '.pcrpkey': Buffer.from('-----BEGIN PUBLIC KEY-----\n...\n'),
  '.profile': Buffer.from('ID=main'),
};
/** Measurement order for these sections (talos-imager §5.3 step 2). */
const ORDER = ['.linux', '.osrel', '.cmdline', '.initrd', '.uname', '.sbat', '.pcrpkey', '.profile'];

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pcr-'));
  for (const [name, data] of Object.entries(contents)) {
    files[name] = path.join(dir, name.slice(1));
    await writeFile(files[name]!, data);
  }
  ({ privateKey: key } = generateKeyPairSync('rsa', { modulusLength: 2048 }));
  keyPem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  await writeFile(path.join(dir, 'key.pem'), keyPem);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function measured(banks: PcrBank[], names = ORDER): Promise<MeasuredSection[]> {
  // Given in a scrambled order: the module must sort by the fixed measurement order.
  const scrambled = [...names].reverse();
  return Promise.all(
    scrambled.map(async (name, i) => ({
      name,
      // Half from files (streamed), half from buffers.
      digests: await digestSection(i % 2 ? { path: files[name]! } : contents[name]!, banks),
    })),
  );
}

describe('PCR 11 prediction', () => {
  for (const bank of ['sha1', 'sha256', 'sha384', 'sha512'] as const) {
    it(`${bank}: PCR value and policy digest equal the independent python derivation`, async () => {
      const sections = await measured([bank]);
      const pcr = predictPcr11(sections, bank);
      const policy = pcrPolicyDigest(pcr, bank);
      const out = execFileSync('python3', ['-c', PYTHON, bank, ...ORDER.map((n) => `${n}=${files[n]}`)])
        .toString()
        .trim()
        .split(' ');
      assert.deepEqual([pcr.toString('hex'), policy.toString('hex')], out);
    });
  }

  it('sections not present are skipped (a UKI without .uname/.profile)', async () => {
    const names = ['.linux', '.osrel', '.cmdline', '.initrd', '.sbat'];
    const sections = await measured(['sha256'], names);
    const out = execFileSync('python3', ['-c', PYTHON, 'sha256', ...names.map((n) => `${n}=${files[n]}`)])
      .toString()
      .trim()
      .split(' ');
    assert.equal(predictPcr11(sections, 'sha256').toString('hex'), out[0]);
  });
});

describe('.pcrsig JSON', () => {
  it('banks by version: SHA-1 only before 1.6', () => {
    assert.deepEqual(pcrBanks(deriveQuirks(parseTalosVersion('v1.5.5'))), [
      'sha1',
      'sha256',
      'sha384',
      'sha512',
    ]);
    assert.deepEqual(pcrBanks(deriveQuirks(parseTalosVersion('v1.6.0'))), ['sha256', 'sha384', 'sha512']);
  });

  it('compact JSON: keys in order, pkfp, pol and a signature openssl verifies', async () => {
    const banks: PcrBank[] = ['sha256', 'sha384', 'sha512'];
    const json = pcrSignatureJson(await measured(banks), banks, key);
    assert.doesNotMatch(json, /\s/, 'compact');
    const parsed = JSON.parse(json) as Record<
      string,
      { pcrs: number[]; pkfp: string; pol: string; sig: string }[]
    >;
    assert.deepEqual(Object.keys(parsed), banks);
    assert.match(
      json,
      /^\{"sha256":\[\{"pcrs":\[11\],"pkfp":"[0-9a-f]{64}","pol":"[0-9a-f]{64}","sig":"[A-Za-z0-9+/=]+"\}\],"sha384":/,
    );
    // pkfp = sha256 of the PKCS#1 RSAPublicKey DER, derived with openssl.
    const pkcs1 = execFileSync(
      'openssl',
      ['rsa', '-in', path.join(dir, 'key.pem'), '-RSAPublicKey_out', '-outform', 'DER'],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    const fp = createHash('sha256').update(pkcs1).digest('hex');
    assert.equal(pcrKeyFingerprint(key), fp);
    const pub = path.join(dir, 'pub.pem');
    execFileSync('openssl', ['rsa', '-in', path.join(dir, 'key.pem'), '-pubout', '-out', pub], {
      stdio: 'ignore',
    });
    for (const bank of banks) {
      const entry = parsed[bank]![0]!;
      assert.deepEqual(entry.pcrs, [11]);
      assert.equal(entry.pkfp, fp);
      const polFile = path.join(dir, `pol-${bank}`);
      const sigFile = path.join(dir, `sig-${bank}`);
      await writeFile(polFile, Buffer.from(entry.pol, 'hex'));
      await writeFile(sigFile, Buffer.from(entry.sig, 'base64'));
      const verdict = execFileSync('openssl', [
        'dgst',
        `-${bank}`,
        '-verify',
        pub,
        '-signature',
        sigFile,
        polFile,
      ]).toString();
      assert.equal(verdict.trim(), 'Verified OK', bank);
    }
  });
});
