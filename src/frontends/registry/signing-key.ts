/**
 * The installer signing key (image-factory §5.5): an ECDSA P-256 private key in PEM, from
 * `registry.signingKeyPath`, or — when that is unset — generated once and kept under the data dir
 * so a fresh factory signs out of the box. Replicas that share an external registry must share the
 * key (configure the same file), or each treats the others' signatures as invalid and rebuilds.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { link, mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FactoryError } from '../../errors.js';
import { tempPathFor } from '../../util/atomic-file.js';

/** A loaded signing key. */
export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** SPKI PEM of the public key (served at `/oci/cosign/signing-key.pub`). */
  readonly publicPem: string;
}

function fromPem(pem: string, what: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new FactoryError('CONFIG_INVALID', `${what}: not a PEM private key`);
  }
  const details = privateKey.asymmetricKeyDetails;
  if (privateKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1') {
    throw new FactoryError('CONFIG_INVALID', `${what}: must be an ECDSA P-256 key`);
  }
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Creates `path` with a fresh key unless it exists (two processes racing keep one key). */
async function createOnce(path: string): Promise<void> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(pem);
      await fh.sync();
    } finally {
      await fh.close();
    }
    // link() fails when the target exists: whoever linked first wins, the others read theirs.
    await link(tmp, path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Loads the configured key, or the generated one at `generatedPath` (created on first use).
 * Messages name the config key, never the server path.
 */
export async function loadSigningKey(
  configuredPath: string | undefined,
  generatedPath: string,
): Promise<SigningKey> {
  if (configuredPath !== undefined) {
    const pem = await readFile(configuredPath, 'utf8').catch(() => {
      throw new FactoryError(
        'CONFIG_INVALID',
        'config key "registry.signingKeyPath": the file cannot be read',
      );
    });
    return fromPem(pem, 'config key "registry.signingKeyPath"');
  }
  const existing = await readFile(generatedPath, 'utf8').catch(() => undefined);
  if (existing === undefined) await createOnce(generatedPath);
  return fromPem(existing ?? (await readFile(generatedPath, 'utf8')), 'the generated signing key');
}
