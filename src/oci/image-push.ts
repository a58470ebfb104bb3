/**
 * Pushing whole images and indexes: blobs first (config, layers), then the manifest that
 * references them, so a registry never holds a manifest with missing content.
 */
import { type BlobSource, pushBlob } from './blob-upload.js';
import type { ClientContext } from './context.js';
import { buildImageIndex, buildImageManifest, type IndexEntry } from './image-builder.js';
import type { Descriptor } from './manifest.js';
import { pushManifest } from './manifest-ops.js';
import { OCI_CONFIG } from './media-types.js';
import type { RepositoryRef } from './repository.js';

/** One layer to push. */
export interface LayerSpec {
  readonly source: BlobSource;
  readonly mediaType: string;
  readonly annotations?: Readonly<Record<string, string>>;
  /** Known digest, saves hashing a file twice. */
  readonly digest?: string;
}

/** An image to push. */
export interface ImageSpec {
  /** Config bytes (default media type: OCI image config). */
  readonly config: { readonly bytes: Uint8Array; readonly mediaType?: string };
  readonly layers: readonly LayerSpec[];
  /** Manifest media type (default OCI manifest). */
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  /** Upload blobs in chunks. */
  readonly chunked?: boolean;
  readonly signal?: AbortSignal;
}

/** Pushes config, layers and manifest; tags it with `reference` (a tag or its digest). */
export async function pushImage(
  ctx: ClientContext,
  repo: RepositoryRef,
  reference: string | undefined,
  spec: ImageSpec,
): Promise<Descriptor> {
  const blobOptions = {
    ...(spec.chunked ? { chunked: true } : {}),
    ...(spec.signal ? { signal: spec.signal } : {}),
  };
  const layers: Descriptor[] = [];
  for (const layer of spec.layers) {
    const pushed = await pushBlob(ctx, repo, layer.source, {
      ...blobOptions,
      ...(layer.digest ? { digest: layer.digest } : {}),
    });
    layers.push({
      mediaType: layer.mediaType,
      digest: pushed.digest,
      size: pushed.size,
      ...(layer.annotations ? { annotations: layer.annotations } : {}),
    });
  }
  const config = await pushBlob(ctx, repo, spec.config.bytes, blobOptions);
  const built = buildImageManifest({
    config: { mediaType: spec.config.mediaType ?? OCI_CONFIG, digest: config.digest, size: config.size },
    layers,
    ...(spec.mediaType ? { mediaType: spec.mediaType } : {}),
    ...(spec.artifactType ? { artifactType: spec.artifactType } : {}),
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  });
  return pushManifest(ctx, repo, reference ?? built.digest, built.bytes, built.mediaType, spec.signal);
}

/** Options of {@link pushIndex}. */
export interface IndexOptions {
  readonly mediaType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/**
 * Pushes an index over manifests already in the repository, under `reference` (a tag) or, when
 * undefined, by its own digest.
 */
export async function pushIndex(
  ctx: ClientContext,
  repo: RepositoryRef,
  reference: string | undefined,
  entries: readonly IndexEntry[],
  options: IndexOptions = {},
): Promise<Descriptor> {
  const built = buildImageIndex({
    manifests: entries,
    ...(options.mediaType ? { mediaType: options.mediaType } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  });
  return pushManifest(ctx, repo, reference ?? built.digest, built.bytes, built.mediaType, options.signal);
}
