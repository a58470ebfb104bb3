/**
 * Cosign key-based signatures in the "simple signing" format, as `cosign sign --key` writes them
 * and `cosign verify --key` reads them: the payload is
 * `{"critical":{"identity":{"docker-reference":…},"image":{"docker-manifest-digest":…},"type":"cosign container image signature"},"optional":null}`,
 * stored as the one layer (`application/vnd.dev.cosign.simplesigning.v1+json`) of an image tagged
 * `sha256-<hex>.sig` beside the signed manifest; the base64 DER ECDSA-P256/SHA-256 signature of
 * the payload bytes sits in that layer's `dev.cosignproject.cosign/signature` annotation.
 */
import { type KeyObject, sign, verify } from 'node:crypto';
import { sha256Digest } from './digest.js';
import { type BuiltManifest, buildImageManifest } from './image-builder.js';
import type { ImageManifest } from './manifest.js';
import { OCI_CONFIG } from './media-types.js';

/** Media type of the payload layer. */
export const COSIGN_SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** Layer annotation holding the base64 signature. */
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** The `critical.type` of a container image signature. */
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

/** The tag cosign stores the signatures of `digest` under: `sha256-<hex>.sig`. */
export function signatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

/** The simple-signing payload for `digest` as seen at `dockerReference` (`registry/repo`, no tag). */
export function simpleSigningPayload(dockerReference: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': digest },
        type: COSIGN_SIGNATURE_TYPE,
      },
      optional: null,
    }),
  );
}

/** Signs `payload` with an ECDSA key: base64 of the DER signature over its SHA-256. */
export function signPayload(key: KeyObject, payload: Buffer): string {
  return sign('sha256', payload, { key, dsaEncoding: 'der' }).toString('base64');
}

/** A signature image ready to store or push: its config, its payload layer and manifest. */
export interface SignatureImage {
  readonly config: Buffer;
  readonly payload: Buffer;
  readonly manifest: BuiltManifest;
}

/**
 * Builds the signature image cosign would write for one signature: OCI manifest, an image config
 * whose only diff_id is the payload's digest (the layer is stored uncompressed), one layer.
 */
export function buildSignatureImage(payload: Buffer, signature: string): SignatureImage {
  const payloadDigest = sha256Digest(payload);
  const zeroTime = '0001-01-01T00:00:00Z';
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: zeroTime,
      history: [{ created: zeroTime }],
      os: '',
      rootfs: { type: 'layers', diff_ids: [payloadDigest] },
      config: {},
    }),
  );
  const manifest = buildImageManifest({
    config: { mediaType: OCI_CONFIG, digest: sha256Digest(config), size: config.length },
    layers: [
      {
        mediaType: COSIGN_SIMPLE_SIGNING,
        digest: payloadDigest,
        size: payload.length,
        annotations: { [COSIGN_SIGNATURE_ANNOTATION]: signature },
      },
    ],
  });
  return { config, payload, manifest };
}

/** The payload layers of a signature manifest (digest and signature), for {@link verifySignature}. */
export function signatureLayers(doc: ImageManifest): { digest: string; size: number; signature: string }[] {
  return doc.layers.flatMap((l) => {
    const signature = l.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
    return l.mediaType === COSIGN_SIMPLE_SIGNING && signature !== undefined
      ? [{ digest: l.digest, size: l.size, signature }]
      : [];
  });
}

/**
 * True when `signature` (base64 DER) is `publicKey`'s signature of `payload` and the payload is a
 * container image signature of `digest`. Like `cosign verify`, the docker-reference is not
 * compared: an image keeps its signatures when it is served under another name.
 */
export function verifySignature(
  publicKey: KeyObject,
  payload: Buffer,
  signature: string,
  digest: string,
): boolean {
  let ok: boolean;
  try {
    ok = verify('sha256', payload, { key: publicKey, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
  if (!ok) return false;
  try {
    const doc = JSON.parse(payload.toString('utf8')) as {
      critical?: { image?: Record<string, unknown>; type?: unknown };
    };
    return (
      doc.critical?.type === COSIGN_SIGNATURE_TYPE &&
      doc.critical.image?.['docker-manifest-digest'] === digest
    );
  } catch {
    return false;
  }
}
