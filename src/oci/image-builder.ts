/**
 * Builds manifest and index documents as bytes (the bytes are what gets hashed and pushed,
 * so they are produced once here and never re-serialized).
 */
import type { Descriptor, Platform } from './manifest.js';
import { sha256Digest } from './digest.js';
import { OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from './media-types.js';

/** Serialized manifest bytes with their digest and media type, ready to push. */
export interface BuiltManifest {
  readonly bytes: Buffer;
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
}

/** The OCI empty JSON payload `{}` used as config for artifacts. */
export const EMPTY_JSON = Buffer.from('{}');

/** Descriptor of {@link EMPTY_JSON} (`sha256:44136f…`, size 2). */
export const EMPTY_CONFIG_DESCRIPTOR: Descriptor = {
  mediaType: OCI_EMPTY,
  digest: sha256Digest(EMPTY_JSON),
  size: EMPTY_JSON.length,
};

/** Inputs for an image manifest. */
export interface ImageManifestSpec {
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  /** Defaults to the OCI manifest media type. */
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Inputs for an image index entry. */
export interface IndexEntry {
  readonly descriptor: Descriptor;
  readonly platform?: Platform;
}

/** Inputs for an image index. */
export interface ImageIndexSpec {
  readonly manifests: readonly IndexEntry[];
  /** Defaults to the OCI index media type. */
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

function finish(doc: object, mediaType: string): BuiltManifest {
  const bytes = Buffer.from(JSON.stringify(doc));
  return { bytes, digest: sha256Digest(bytes), mediaType, size: bytes.length };
}

// Keeps descriptor fields in the spec's order and drops absent ones, so output is stable.
function cleanDescriptor(d: Descriptor, platform?: Platform): Descriptor {
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.urls === undefined ? {} : { urls: d.urls }),
    ...(d.annotations === undefined ? {} : { annotations: d.annotations }),
    ...(d.artifactType === undefined ? {} : { artifactType: d.artifactType }),
    ...((platform ?? d.platform) === undefined ? {} : { platform: platform ?? d.platform }),
  };
}

/** Serializes an image manifest. */
export function buildImageManifest(spec: ImageManifestSpec): BuiltManifest {
  const mediaType = spec.mediaType ?? OCI_MANIFEST;
  return finish(
    {
      schemaVersion: 2,
      mediaType,
      ...(spec.artifactType === undefined ? {} : { artifactType: spec.artifactType }),
      config: cleanDescriptor(spec.config),
      layers: spec.layers.map((l) => cleanDescriptor(l)),
      ...(spec.subject === undefined ? {} : { subject: cleanDescriptor(spec.subject) }),
      ...(spec.annotations === undefined ? {} : { annotations: spec.annotations }),
    },
    mediaType,
  );
}

/** Serializes an image index; each entry's platform (if given) overrides the descriptor's. */
export function buildImageIndex(spec: ImageIndexSpec): BuiltManifest {
  const mediaType = spec.mediaType ?? OCI_INDEX;
  return finish(
    {
      schemaVersion: 2,
      mediaType,
      ...(spec.artifactType === undefined ? {} : { artifactType: spec.artifactType }),
      manifests: spec.manifests.map((e) => cleanDescriptor(e.descriptor, e.platform)),
      ...(spec.annotations === undefined ? {} : { annotations: spec.annotations }),
    },
    mediaType,
  );
}

/** The descriptor pointing at a built manifest. */
export function describeManifest(built: BuiltManifest, platform?: Platform): Descriptor {
  return {
    mediaType: built.mediaType,
    digest: built.digest,
    size: built.size,
    ...(platform === undefined ? {} : { platform }),
  };
}
