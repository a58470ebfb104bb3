/**
 * Secure Boot key loading: Debian's encrypted OVMF snakeoil pair (password `snakeoil`), and every
 * error naming the config key without leaking key material or server paths. Also the generated
 * signing identity and the `.pcrpkey` PEM.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isFactoryError } from '../../src/errors.js';
import {
  generateSigningIdentity,
  loadSecureBootKeys,
  pcrPublicKeyPem,
  pemEncode,
} from '../../src/secureboot/keys.js';

const SNAKEOIL_KEY = '/usr/share/ovmf/PkKek-1-snakeoil.key';
const SNAKEOIL_CERT = '/usr/share/ovmf/PkKek-1-snakeoil.pem';
const haveSnakeoil = existsSync(SNAKEOIL_KEY);

let dir: string;
let pcrKeyPath: string;
let rsaPem: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sb-keys-'));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  rsaPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  pcrKeyPath = path.join(dir, 'pcr-signing-key.pem');
  await writeFile(pcrKeyPath, rsaPem); // "RSA PRIVATE KEY" PEM, as talosctl writes it
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Asserts a CONFIG_INVALID naming `configKey` whose message carries no key bytes or paths. */
async function rejectsNaming(
  p: Promise<unknown>,
  configKey: string,
  re: RegExp,
  secrets: string[] = [],
): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isFactoryError(e, 'CONFIG_INVALID'), String(e));
    assert.ok(e.message.startsWith(`config key "${configKey}": `), e.message);
    assert.match(e.message, re);
    assert.ok(!e.message.includes(dir) && !e.message.includes('/usr/share'), `no path in: ${e.message}`);
    assert.doesNotMatch(e.message, /BEGIN|PRIVATE|[A-Za-z0-9+/]{40}/, 'no key material');
    for (const s of secrets) assert.ok(!e.message.includes(s), 'no secret in the message');
    return true;
  });
}

describe('loadSecureBootKeys', { skip: haveSnakeoil ? false : 'ovmf snakeoil pair not installed' }, () => {
  it('loads the encrypted snakeoil key with its password, and an RSA PCR key', async () => {
    const keys = await loadSecureBootKeys({
      signingKeyPath: SNAKEOIL_KEY,
      signingKeyPassword: 'snakeoil',
      signingCertPath: SNAKEOIL_CERT,
      pcrKeyPath,
    });
    assert.equal(keys.signer.key.asymmetricKeyType, 'rsa');
    assert.match(keys.signer.x509.subject, /SnakeOil/);
    assert.equal(keys.signer.certificatePem, await readFile(SNAKEOIL_CERT, 'utf8'), 'PEM kept as supplied');
    assert.equal(keys.pcrKey.asymmetricKeyType, 'rsa');
  });

  it('wrong password', async () => {
    await rejectsNaming(
      loadSecureBootKeys({
        signingKeyPath: SNAKEOIL_KEY,
        signingKeyPassword: 'not-the-password',
        signingCertPath: SNAKEOIL_CERT,
        pcrKeyPath,
      }),
      'secureBoot.signingKeyPath',
      /wrong password/,
      ['not-the-password'],
    );
  });

  it('encrypted key without a password names the password key', async () => {
    await rejectsNaming(
      loadSecureBootKeys({ signingKeyPath: SNAKEOIL_KEY, signingCertPath: SNAKEOIL_CERT, pcrKeyPath }),
      'secureBoot.signingKeyPath',
      /encrypted and no password is set \(config key "secureBoot\.signingKeyPassword"\)/,
    );
  });

  it('unreadable files: missing, directory, not a key, not a certificate', async () => {
    const base = {
      signingKeyPath: SNAKEOIL_KEY,
      signingKeyPassword: 'snakeoil',
      signingCertPath: SNAKEOIL_CERT,
      pcrKeyPath,
    };
    await rejectsNaming(
      loadSecureBootKeys({ ...base, signingCertPath: path.join(dir, 'missing.pem') }),
      'secureBoot.signingCertPath',
      /the file does not exist/,
    );
    const sub = path.join(dir, 'a-directory');
    await mkdir(sub, { recursive: true });
    await rejectsNaming(
      loadSecureBootKeys({ ...base, pcrKeyPath: sub }),
      'secureBoot.pcrKeyPath',
      /is a directory/,
    );
    const junk = path.join(dir, 'junk.pem');
    await writeFile(junk, 'hello\n');
    await rejectsNaming(
      loadSecureBootKeys({ ...base, pcrKeyPath: junk }),
      'secureBoot.pcrKeyPath',
      /not a PEM private key/,
    );
    // A truncated private key: the message must not echo its bytes.
    const cut = path.join(dir, 'cut.pem');
    await writeFile(cut, rsaPem.slice(0, 300));
    await rejectsNaming(
      loadSecureBootKeys({ ...base, pcrKeyPath: cut }),
      'secureBoot.pcrKeyPath',
      /not a PEM private key/,
      [rsaPem.split('\n')[1]!],
    );
    await rejectsNaming(
      loadSecureBootKeys({ ...base, signingCertPath: pcrKeyPath }),
      'secureBoot.signingCertPath',
      /not a PEM certificate/,
    );
  });

  it('key and certificate that do not match', async () => {
    const other = generateSigningIdentity();
    const certPath = path.join(dir, 'other-cert.pem');
    await writeFile(certPath, other.certificatePem);
    await rejectsNaming(
      loadSecureBootKeys({
        signingKeyPath: SNAKEOIL_KEY,
        signingKeyPassword: 'snakeoil',
        signingCertPath: certPath,
        pcrKeyPath,
      }),
      'secureBoot.signingKeyPath',
      /does not match the certificate of config key "secureBoot\.signingCertPath"/,
    );
  });

  it('a non-RSA PCR key', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ec = path.join(dir, 'ec.pem');
    await writeFile(ec, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await rejectsNaming(
      loadSecureBootKeys({
        signingKeyPath: SNAKEOIL_KEY,
        signingKeyPassword: 'snakeoil',
        signingCertPath: SNAKEOIL_CERT,
        pcrKeyPath: ec,
      }),
      'secureBoot.pcrKeyPath',
      /must be an RSA key \(got ec\)/,
    );
  });
});

describe('generated signing identity and PEM helpers', () => {
  it('a self-signed RSA CA certificate matching its key', () => {
    const id = generateSigningIdentity({ commonName: 'test SB key', bits: 2048 });
    assert.equal(id.x509.subject, 'CN=test SB key');
    assert.equal(id.x509.issuer, 'CN=test SB key');
    assert.ok(id.x509.ca);
    assert.ok(id.x509.checkPrivateKey(id.key));
    assert.ok(id.x509.verify(id.x509.publicKey), 'self-signature verifies');
    assert.match(
      id.certificatePem,
      /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{64}\n)+[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/,
    );
  });

  it('.pcrpkey is a PKIX "PUBLIC KEY" PEM of the PCR key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = pcrPublicKeyPem(privateKey);
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.deepEqual(
      createPublicKey(pem).export({ type: 'spki', format: 'der' }),
      publicKey.export({ type: 'spki', format: 'der' }),
    );
    assert.equal(pemEncode('X', Buffer.alloc(48)), `-----BEGIN X-----\n${'A'.repeat(64)}\n-----END X-----\n`);
  });
});
