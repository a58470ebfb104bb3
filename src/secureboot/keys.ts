/**
 * Secure Boot keys: the UKI signing key + certificate (Authenticode, EFI variable signatures) and
 * the PCR signing key, loaded from PEM files (optionally password-protected), plus a generator
 * for a fresh self-signed signing certificate. Every error names the config key it came from and
 * never carries key material, file contents, paths or library messages (those may echo input).
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { FactoryError } from '../errors.js';

/** A signing key with its X.509 certificate, in the forms the signers need. */
export interface SigningIdentity {
  readonly key: KeyObject;
  readonly certificate: pkijs.Certificate;
  readonly certificateDer: Buffer;
  /** The certificate as PEM text (what upstream puts into `.auth` ESLs and hashes for owner GUIDs). */
  readonly certificatePem: string;
  readonly x509: X509Certificate;
}

/** Where a PEM private key comes from. */
export interface KeyFile {
  readonly path: string;
  /** Config key that named the file, e.g. `secureBoot.signingKeyPath` (used in errors). */
  readonly configKey: string;
  readonly password?: string;
  /** Config key of the password, for the "key is encrypted" hint. */
  readonly passwordConfigKey?: string;
}

/** Where a PEM certificate comes from. */
export interface CertFile {
  readonly path: string;
  readonly configKey: string;
}

function configError(configKey: string, message: string, cause?: unknown): FactoryError {
  return new FactoryError('CONFIG_INVALID', `config key "${configKey}": ${message}`, { cause });
}

async function readConfigFile(path: string, configKey: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'the file does not exist'
        : code === 'EACCES'
          ? 'permission denied reading the file'
          : code === 'EISDIR'
            ? 'is a directory, not a file'
            : `cannot read the file (${code ?? 'error'})`;
    // The cause keeps the path for the server log; the message does not.
    throw configError(configKey, why, e);
  }
}

/** Parses a PEM private key; only RSA keys are accepted (firmware and TPM policies need RSA). */
export function parsePrivateKey(pem: string, ref: Omit<KeyFile, 'path'>): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(
      ref.password === undefined
        ? { key: pem, format: 'pem' }
        : { key: pem, format: 'pem', passphrase: ref.password },
    );
  } catch (e) {
    const code = (e as { code?: string }).code;
    const text = e instanceof Error ? e.message : '';
    const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem);
    if (
      ref.password === undefined &&
      (encrypted || code === 'ERR_MISSING_PASSPHRASE' || code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED')
    )
      throw configError(
        ref.configKey,
        `the key is encrypted and no password is set${ref.passwordConfigKey ? ` (config key "${ref.passwordConfigKey}")` : ''}`,
      );
    if (ref.password !== undefined && (code === 'ERR_OSSL_BAD_DECRYPT' || /bad decrypt/i.test(text)))
      throw configError(ref.configKey, 'cannot decrypt the key: wrong password');
    // The library message is not passed on: it may quote parts of the input.
    throw configError(ref.configKey, 'not a PEM private key');
  }
  if (key.asymmetricKeyType !== 'rsa')
    throw configError(ref.configKey, `must be an RSA key (got ${key.asymmetricKeyType ?? 'unknown'})`);
  return key;
}

/** Builds a {@link SigningIdentity} from a DER certificate and its key (checks they match). */
export function identityFromDer(
  certificateDer: Buffer,
  key: KeyObject,
  configKey = 'certificate',
): SigningIdentity {
  let x509: X509Certificate;
  let certificate: pkijs.Certificate;
  try {
    x509 = new X509Certificate(certificateDer);
    certificate = pkijs.Certificate.fromBER(certificateDer);
  } catch (e) {
    throw configError(configKey, 'not an X.509 certificate', e);
  }
  if (!x509.checkPrivateKey(key))
    throw configError(configKey, 'the certificate does not match the signing key');
  return { key, certificate, certificateDer, certificatePem: pemEncode('CERTIFICATE', certificateDer), x509 };
}

/** PEM armour with 64-character lines, as Go's `pem.Encode` and OpenSSL write it. */
export function pemEncode(label: string, derBytes: Buffer): string {
  const b64 = derBytes.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

/** The first PEM certificate in `text` as DER, or undefined. */
export function pemCertificateDer(text: string): Buffer | undefined {
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(text);
  return m ? Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64') : undefined;
}

/** Loads the UKI signing key and certificate; errors name `key.configKey` / `cert.configKey`. */
export async function loadSigningIdentity(key: KeyFile, cert: CertFile): Promise<SigningIdentity> {
  const keyObject = parsePrivateKey(await readConfigFile(key.path, key.configKey), key);
  const certText = await readConfigFile(cert.path, cert.configKey);
  const derBytes = pemCertificateDer(certText);
  if (derBytes === undefined) throw configError(cert.configKey, 'not a PEM certificate');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(derBytes);
  } catch (e) {
    throw configError(cert.configKey, 'not an X.509 certificate', e);
  }
  if (!x509.checkPrivateKey(keyObject))
    throw configError(
      key.configKey,
      `the key does not match the certificate of config key "${cert.configKey}"`,
    );
  const id = identityFromDer(derBytes, keyObject, cert.configKey);
  // Keep the PEM text exactly as supplied: upstream hashes it for ESL owner GUIDs (errata E11).
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/.exec(certText)![0];
  return { ...id, certificatePem: pem.endsWith('\n') ? pem : `${pem}\n` };
}

/** Loads the PCR signing key (RSA). */
export async function loadPcrSigningKey(key: KeyFile): Promise<KeyObject> {
  return parsePrivateKey(await readConfigFile(key.path, key.configKey), key);
}

/** `.pcrpkey`: the PCR public key as PEM `PUBLIC KEY` (PKIX/SPKI DER), as the HEAD imager writes it. */
export function pcrPublicKeyPem(key: KeyObject): string {
  return pemEncode('PUBLIC KEY', createPublicKey(key).export({ type: 'spki', format: 'der' }));
}

/** Options for {@link generateSigningIdentity}. */
export interface GenerateOptions {
  readonly commonName?: string;
  /** RSA modulus bits (talosctl uses 4096; tests use 2048 for speed). */
  readonly bits?: number;
  readonly notBefore?: Date;
  /** Validity in days. */
  readonly days?: number;
}

function time(d: Date): pkijs.Time {
  // UTCTime up to 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
  return new pkijs.Time({ type: d.getUTCFullYear() < 2050 ? 0 : 1, value: d });
}

/**
 * Generates an RSA key and a self-signed certificate usable as PK, KEK, db and Authenticode
 * signer: CA basic constraints, digitalSignature + keyCertSign, no extended key usage (so
 * verifiers accept it for code signing). Random serial; not reproducible by design.
 */
export function generateSigningIdentity(options: GenerateOptions = {}): SigningIdentity {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: options.bits ?? 2048 });
  const cn = options.commonName ?? 'image-factory Secure Boot signing key';
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + (options.days ?? 3650) * 86_400_000);
  const name = (): pkijs.RelativeDistinguishedNames =>
    new pkijs.RelativeDistinguishedNames({
      typesAndValues: [
        new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: cn }) }),
      ],
    });
  const serial = randomBytes(16);
  // Positive (top bit clear) and minimally encoded (top byte non-zero): a leading 0x00 before a
  // byte < 0x80 is invalid DER, which X.509 parsers reject (1 run in ~256 otherwise).
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  const sigAlg = (): pkijs.AlgorithmIdentifier =>
    new pkijs.AlgorithmIdentifier({
      algorithmId: '1.2.840.113549.1.1.11',
      algorithmParams: new asn1js.Null(),
    });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const cert = new pkijs.Certificate({
    version: 2,
    serialNumber: new asn1js.Integer({ valueHex: serial }),
    signature: sigAlg(),
    issuer: name(),
    subject: name(),
    notBefore: time(notBefore),
    notAfter: time(notAfter),
    subjectPublicKeyInfo: pkijs.PublicKeyInfo.fromBER(spki),
    signatureAlgorithm: sigAlg(),
  });
  const keyUsage = new asn1js.BitString({ valueHex: new Uint8Array([0x84]).buffer, unusedBits: 2 });
  cert.extensions = [
    new pkijs.Extension({
      extnID: '2.5.29.19',
      critical: true,
      extnValue: new pkijs.BasicConstraints({ cA: true }).toSchema().toBER(false),
    }),
    new pkijs.Extension({ extnID: '2.5.29.15', critical: true, extnValue: keyUsage.toBER(false) }),
  ];
  const tbs = Buffer.from(cert.encodeTBS().toBER(false));
  cert.tbsView = new Uint8Array(tbs);
  cert.signatureValue = new asn1js.BitString({ valueHex: sign('sha256', tbs, privateKey) });
  const certificateDer = Buffer.from(cert.toSchema().toBER(false));
  return identityFromDer(certificateDer, privateKey, 'generated certificate');
}

/** The Secure Boot key settings as configured (paths and optional passwords). */
export interface SecureBootKeyConfig {
  readonly signingKeyPath: string;
  readonly signingCertPath: string;
  readonly pcrKeyPath: string;
  readonly signingKeyPassword?: string;
  readonly pcrKeyPassword?: string;
}

/** The loaded Secure Boot keys. */
export interface SecureBootKeys {
  readonly signer: SigningIdentity;
  readonly pcrKey: KeyObject;
}

/**
 * Loads all Secure Boot keys at start-up; errors name `<prefix>.<field>` (e.g.
 * `config key "secureBoot.signingKeyPath": the file does not exist`).
 */
export async function loadSecureBootKeys(
  c: SecureBootKeyConfig,
  prefix = 'secureBoot',
): Promise<SecureBootKeys> {
  const signer = await loadSigningIdentity(
    {
      path: c.signingKeyPath,
      configKey: `${prefix}.signingKeyPath`,
      password: c.signingKeyPassword,
      passwordConfigKey: `${prefix}.signingKeyPassword`,
    },
    { path: c.signingCertPath, configKey: `${prefix}.signingCertPath` },
  );
  const pcrKey = await loadPcrSigningKey({
    path: c.pcrKeyPath,
    configKey: `${prefix}.pcrKeyPath`,
    password: c.pcrKeyPassword,
    passwordConfigKey: `${prefix}.pcrKeyPassword`,
  });
  return { signer, pcrKey };
}
