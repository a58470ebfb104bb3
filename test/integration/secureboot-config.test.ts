/**
 * Secure Boot configuration at factory start-up: bad key material stops start-up with a message
 * naming the config key and never the key; a generated pair is made once and reused by the next
 * start; the certificate route serves exactly the configured certificate.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FactoryError } from '../../src/errors.js';
import { makeTestFactory } from '../helpers/factory.js';
import { SNAKEOIL_SECURE_BOOT } from '../helpers/fixture-factory.js';

describe('secureBoot configuration', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'if-sbconf-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const refused = async (secureBoot: Record<string, unknown>, key: RegExp, why: RegExp) => {
    await assert.rejects(makeTestFactory({ secureBoot }), (e: unknown) => {
      assert.ok(e instanceof FactoryError, String(e));
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.match(e.message, key);
      assert.match(e.message, why);
      assert.doesNotMatch(e.message, /PRIVATE KEY|snakeoil\.key|\/usr\/share/);
      return true;
    });
  };

  it('unreadable key, wrong password, mismatched certificate, half a pair: start-up stops naming the key', async () => {
    await refused(
      { ...SNAKEOIL_SECURE_BOOT, signingKeyPath: join(dir, 'missing.key') },
      /secureBoot\.signingKeyPath/,
      /does not exist/,
    );
    await refused(
      { ...SNAKEOIL_SECURE_BOOT, signingKeyPassword: 'wrong' },
      /secureBoot\.signingKeyPath/,
      /password/,
    );
    const other = await makeTestFactory({ secureBoot: { generate: true }, dataDir: join(dir, 'other') });
    await other.cleanup().catch(() => undefined);
    const otherCert = join(dir, 'other-cert.pem');
    await writeFile(otherCert, other.factory.secureBoot!.signer.certificatePem);
    await refused({ ...SNAKEOIL_SECURE_BOOT, signingCertPath: otherCert }, /secureBoot\./, /match/);
    await refused(
      { signingKeyPath: SNAKEOIL_SECURE_BOOT.signingKeyPath },
      /secureBoot\.signingCertPath/,
      /required/,
    );
  });

  it('the certificate route serves the configured certificate', async () => {
    const t = await makeTestFactory({ secureBoot: SNAKEOIL_SECURE_BOOT });
    try {
      const res = await t.factory.app.inject('/secureboot/signing-cert.pem');
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'application/x-pem-file');
      assert.equal(res.body, await readFile(SNAKEOIL_SECURE_BOOT.signingCertPath, 'utf8'));
    } finally {
      await t.cleanup();
    }
  });

  it('generate: one key pair, kept (0600) and reused by the next start', async () => {
    const dataDir = join(dir, 'gen');
    const first = await makeTestFactory({ secureBoot: { generate: true }, dataDir });
    const pem = first.factory.secureBoot!.signer.certificatePem;
    await first.factory.close();
    assert.equal((await stat(join(dataDir, 'secureboot', 'signing-key.pem'))).mode & 0o777, 0o600);
    const second = await makeTestFactory({ secureBoot: { generate: true }, dataDir });
    try {
      assert.equal(second.factory.secureBoot!.signer.certificatePem, pem);
    } finally {
      await second.cleanup();
    }
  });
});
