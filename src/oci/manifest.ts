/**
 * Manifest documents (OCI/Docker image manifests and indexes): types and a validating parser,
 * so callers never walk unchecked JSON from a registry.
 */
import { FactoryError } from '../errors.js';
import { isValidDigest } from './digest.js';
import { isImageManifestMediaType, isIndexMediaType } from './media-types.js';

/** Platform of an index entry (`os.version`/`os.features` kept for completeness). */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
}

/** A content descriptor. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Platform;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly artifactType?: string;
  readonly urls?: readonly string[];
}

/** A single-image manifest (OCI or Docker schema2). */
export interface ImageManifest {
  readonly kind: 'manifest';
  readonly schemaVersion: 2;
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A multi-platform index (OCI index or Docker manifest list). */
export interface ImageIndex {
  readonly kind: 'index';
  readonly schemaVersion: 2;
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Either manifest kind. */
export type ManifestDocument = ImageManifest | ImageIndex;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(what: string, reason: string): FactoryError {
  return new FactoryError('UPSTREAM_UNAVAILABLE', `${what} is not a valid manifest: ${reason}`);
}

function stringMap(value: unknown, what: string, field: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw fail(what, `${field} must be a map of strings`);
  }
  return value as Record<string, string>;
}

function parsePlatformField(value: unknown, what: string, field: string): Platform | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || typeof value.os !== 'string' || typeof value.architecture !== 'string') {
    throw fail(what, `${field}.platform needs string os and architecture`);
  }
  const variant = value.variant;
  if (variant !== undefined && typeof variant !== 'string')
    throw fail(what, `${field}.platform.variant must be a string`);
  return { ...(value as unknown as Platform) };
}

/** Validates one descriptor object; `field` names it in errors (e.g. `layers[2]`). */
export function parseDescriptor(value: unknown, what: string, field: string): Descriptor {
  if (!isObject(value)) throw fail(what, `${field} must be an object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType.length === 0)
    throw fail(what, `${field}.mediaType must be a string`);
  if (typeof digest !== 'string' || !isValidDigest(digest))
    throw fail(what, `${field}.digest is not a valid digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw fail(what, `${field}.size must be a non-negative integer`);
  }
  const platform = parsePlatformField(value.platform, what, field);
  const annotations = stringMap(value.annotations, what, `${field}.annotations`);
  const urls = value.urls;
  if (urls !== undefined && !(Array.isArray(urls) && urls.every((u) => typeof u === 'string'))) {
    throw fail(what, `${field}.urls must be a list of strings`);
  }
  const artifactType = value.artifactType;
  if (artifactType !== undefined && typeof artifactType !== 'string')
    throw fail(what, `${field}.artifactType must be a string`);
  return {
    mediaType,
    digest,
    size,
    ...(platform === undefined ? {} : { platform }),
    ...(annotations === undefined ? {} : { annotations }),
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(urls === undefined ? {} : { urls: urls as string[] }),
  };
}

/**
 * Parses manifest bytes. `contentType` (from the response) wins over the document's own
 * `mediaType` field only when the document has none, as OCI manifests may omit it.
 */
export function parseManifest(
  bytes: Uint8Array,
  contentType: string | undefined,
  what: string,
): ManifestDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw fail(what, `not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObject(doc)) throw fail(what, 'top level must be an object');
  if (doc.schemaVersion !== 2)
    throw fail(what, `schemaVersion must be 2, got ${JSON.stringify(doc.schemaVersion)}`);
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  // Without a mediaType field the shape decides (an OCI index has `manifests`).
  const mediaType =
    declared ??
    contentType ??
    (Array.isArray(doc.manifests)
      ? 'application/vnd.oci.image.index.v1+json'
      : 'application/vnd.oci.image.manifest.v1+json');
  const annotations = stringMap(doc.annotations, what, 'annotations');
  const artifactType = typeof doc.artifactType === 'string' ? doc.artifactType : undefined;
  const subject = doc.subject === undefined ? undefined : parseDescriptor(doc.subject, what, 'subject');
  const common = {
    schemaVersion: 2 as const,
    mediaType,
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(subject === undefined ? {} : { subject }),
    ...(annotations === undefined ? {} : { annotations }),
  };
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw fail(what, 'manifests must be a list');
    const manifests = doc.manifests.map((m, i) => parseDescriptor(m, what, `manifests[${i}]`));
    return { kind: 'index', ...common, manifests };
  }
  if (isImageManifestMediaType(mediaType)) {
    const config = parseDescriptor(doc.config, what, 'config');
    if (!Array.isArray(doc.layers)) throw fail(what, 'layers must be a list');
    const layers = doc.layers.map((l, i) => parseDescriptor(l, what, `layers[${i}]`));
    return { kind: 'manifest', ...common, config, layers };
  }
  throw fail(what, `unsupported media type "${mediaType}"`);
}
