/**
 * Content digests (`sha256:<hex>`): computing, validating and comparing. Only sha256 and
 * sha512 are accepted because those are the only algorithms the OCI spec registers.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { FactoryError } from '../errors.js';

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** True when `value` is a well-formed `sha256:`/`sha512:` digest with lowercase hex. */
export function isValidDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** The digest algorithm (`sha256`/`sha512`) of a valid digest. */
export function digestAlgorithm(digest: string): 'sha256' | 'sha512' {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

/** Throws CONFIG_INVALID naming `what` when `value` is not a valid digest. */
export function assertDigest(value: string, what: string): void {
  if (!isValidDigest(value))
    throw new FactoryError('CONFIG_INVALID', `${what}: "${value}" is not a valid digest`);
}

/** The `sha256:<hex>` digest of `bytes`. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The digest of `bytes` using the algorithm of `like` (defaults to sha256). */
export function digestOf(bytes: Uint8Array, like?: string): string {
  const algorithm = like === undefined ? 'sha256' : digestAlgorithm(like);
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Streams a file once and returns its sha256 digest and size. */
export async function digestFile(
  path: string,
  signal?: AbortSignal,
): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, signal === undefined ? {} : { signal })) {
    const buf = chunk as Buffer;
    hash.update(buf);
    size += buf.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** Builds the DIGEST_MISMATCH error naming what was fetched, where, and both digests. */
export function digestMismatch(what: string, expected: string, actual: string): FactoryError {
  return new FactoryError(
    'DIGEST_MISMATCH',
    `${what}: expected digest ${expected} but content hashes to ${actual}`,
  );
}
