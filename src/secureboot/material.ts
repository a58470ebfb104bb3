/**
 * The factory's Secure Boot material, loaded once at start-up from configuration: the UKI signing
 * key + certificate (Authenticode, PK/KEK/db `.auth` signatures) and the PCR signing key. With
 * `generate`, a key pair made by the factory itself is kept under the data dir and reused, so a
 * fresh factory can offer auto-enrolling media without an operator's PKI. Absent configuration
 * means Secure Boot is off: `-secureboot` requests answer 400.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FactoryError } from '../errors.js';
import {
  generateSigningIdentity,
  loadPcrSigningKey,
  loadSigningIdentity,
  pemEncode,
  type SigningIdentity,
} from './keys.js';

/** The `secureBoot` config section. */
export interface SecureBootConfig {
  readonly signingKeyPath?: string | undefined;
  readonly signingCertPath?: string | undefined;
  readonly signingKeyPassword?: string | undefined;
  /** Default: the signing key (one RSA key for both, like Debian's snakeoil pair). */
  readonly pcrKeyPath?: string | undefined;
  readonly pcrKeyPassword?: string | undefined;
  /** Generate (once) and keep a key pair under `<dataDir>/secureboot/` when no paths are set. */
  readonly generate?: boolean | undefined;
}

/** Loaded Secure Boot material. */
export interface SecureBootMaterial {
  readonly signer: SigningIdentity;
  readonly pcrKey: KeyObject;
  /** Hex sha256 over the certificate and the PCR public key: part of signed assets' cache keys. */
  readonly fingerprint: string;
}

/** Loads the configured material; `undefined` when Secure Boot is not configured. */
export async function loadSecureBootMaterial(
  config: SecureBootConfig | undefined,
  dataDir: string,
): Promise<SecureBootMaterial | undefined> {
  if (!config) return undefined;
  if (config.signingKeyPath === undefined && config.signingCertPath === undefined) {
    if (!config.generate) return undefined;
    return withFingerprint(await generatedIdentity(join(dataDir, 'secureboot')), undefined);
  }
  if (config.signingKeyPath === undefined || config.signingCertPath === undefined) {
    const missing = config.signingKeyPath === undefined ? 'signingKeyPath' : 'signingCertPath';
    throw new FactoryError(
      'CONFIG_INVALID',
      `config key "secureBoot.${missing}": required when the other of signingKeyPath/signingCertPath is set`,
    );
  }
  const signer = await loadSigningIdentity(
    {
      path: config.signingKeyPath,
      configKey: 'secureBoot.signingKeyPath',
      ...(config.signingKeyPassword !== undefined ? { password: config.signingKeyPassword } : {}),
      passwordConfigKey: 'secureBoot.signingKeyPassword',
    },
    { path: config.signingCertPath, configKey: 'secureBoot.signingCertPath' },
  );
  const pcrKey =
    config.pcrKeyPath === undefined
      ? undefined
      : await loadPcrSigningKey({
          path: config.pcrKeyPath,
          configKey: 'secureBoot.pcrKeyPath',
          ...(config.pcrKeyPassword !== undefined ? { password: config.pcrKeyPassword } : {}),
          passwordConfigKey: 'secureBoot.pcrKeyPassword',
        });
  return withFingerprint(signer, pcrKey);
}

function withFingerprint(signer: SigningIdentity, pcrKey: KeyObject | undefined): SecureBootMaterial {
  const pcr = pcrKey ?? signer.key;
  const fingerprint = createHash('sha256')
    .update(signer.certificateDer)
    .update(createPublicKey(pcr).export({ type: 'spki', format: 'der' }))
    .digest('hex');
  return { signer, pcrKey: pcr, fingerprint };
}

/**
 * The factory's own key pair in `dir` (`signing-key.pem` 0600, `signing-cert.pem`), made on
 * first use in a sibling temp directory renamed into place: two processes starting together end
 * up with one pair (the loser's rename fails and it reads the winner's).
 */
async function generatedIdentity(dir: string): Promise<SigningIdentity> {
  const load = () =>
    loadSigningIdentity(
      { path: join(dir, 'signing-key.pem'), configKey: 'secureBoot.generate' },
      { path: join(dir, 'signing-cert.pem'), configKey: 'secureBoot.generate' },
    );
  try {
    return await load();
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
  await mkdir(dirname(dir), { recursive: true });
  const tmp = await mkdtemp(`${dir}.tmp-`);
  try {
    const id = generateSigningIdentity({ commonName: 'image-factory generated Secure Boot key', bits: 3072 });
    await writeSynced(
      join(tmp, 'signing-key.pem'),
      id.key.export({ type: 'pkcs8', format: 'pem' }).toString(),
      0o600,
    );
    await writeSynced(join(tmp, 'signing-cert.pem'), pemEncode('CERTIFICATE', id.certificateDer), 0o644);
    await rename(tmp, dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST' && e.code !== 'ENOTEMPTY') throw e;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return load();
}

async function writeSynced(path: string, text: string, mode: number): Promise<void> {
  const fh = await open(path, 'wx', mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function isMissing(e: unknown): boolean {
  const cause = e instanceof Error ? (e.cause as NodeJS.ErrnoException | undefined) : undefined;
  return cause?.code === 'ENOENT';
}
