/**
 * Public surface of the OCI distribution client. Import from here, not from the inner files.
 */
export { OciClient, DEFAULT_CHUNK_SIZE, DEFAULT_MAX_MANIFEST_BYTES, DEFAULT_TIMEOUT_MS } from './client.js';
export type { OciClientOptions, PlatformManifest } from './client.js';
export type { BlobReadOptions, DownloadedBlob } from './blob-read.js';
export type { BlobSource, PushBlobOptions, PushedBlob } from './blob-upload.js';
export type { ImageSpec, IndexOptions, LayerSpec } from './image-push.js';
export type { ListOptions } from './listing.js';
export { parseNextLink } from './listing.js';
export type {
  FetchedManifest,
  ManifestReadOptions,
  ParsedManifest,
  ResolvedManifest,
} from './manifest-ops.js';
export * from './media-types.js';
export * from './reference.js';
export * from './digest.js';
export * from './manifest.js';
export * from './platform.js';
export * from './image-builder.js';
export * from './host-config.js';
export * from './retry.js';
export { TransientUpstreamError } from './failure.js';
export type { RepoInput } from './repository.js';
export { toRepository } from './repository.js';
export * from './auth/credentials.js';
export * from './auth/docker-config.js';
export { parseWwwAuthenticate, pickChallenge } from './auth/challenge.js';
export type { AuthChallenge } from './auth/challenge.js';
export type { FetchLike } from './auth/token.js';
export { repositoryScope, CATALOG_SCOPE } from './auth/authorizer.js';
export * from './cosign.js';
