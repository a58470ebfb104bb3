/**
 * `OciClient`: the OCI distribution client the factory uses to pull release inputs, store
 * schematics and cached assets, and publish installer images. One instance can talk to many
 * registries; it holds only auth state (learned challenges, cached tokens).
 */
import type { Readable } from 'node:stream';
import { Authorizer } from './auth/authorizer.js';
import { anonymous, type CredentialsProvider } from './auth/credentials.js';
import type { FetchLike } from './auth/token.js';
import {
  type BlobReadOptions,
  type DownloadedBlob,
  downloadBlob,
  getBlob,
  getBlobBytes,
  statBlob,
} from './blob-read.js';
import { type BlobSource, pushBlob, type PushBlobOptions, type PushedBlob } from './blob-upload.js';
import type { ClientContext } from './context.js';
import { type HostConfig, hostConfigMap, type HostResolver } from './host-config.js';
import type { IndexEntry } from './image-builder.js';
import { type ImageSpec, type IndexOptions, pushImage, pushIndex } from './image-push.js';
import { type ListOptions, listRepositories, listTags } from './listing.js';
import { FactoryError } from '../errors.js';
import type { Descriptor, ImageManifest } from './manifest.js';
import {
  deleteManifest,
  type FetchedManifest,
  getManifest,
  getManifestDocument,
  type ManifestReadOptions,
  type ParsedManifest,
  pushManifest,
  resolveManifest,
  type ResolvedManifest,
} from './manifest-ops.js';
import type { Platform } from './manifest.js';
import { selectPlatform } from './platform.js';
import { type ImageReference, manifestReference, parseReference } from './reference.js';
import { type RepoInput, toRepository } from './repository.js';
import { realSleep, resolveRetryPolicy, type RetryPolicy, type Sleep } from './retry.js';
import { Transport } from './transport.js';

/** Construction options; everything has a default. */
export interface OciClientOptions {
  /** HTTP implementation (default: Node's global fetch). */
  readonly fetch?: FetchLike;
  /** Per-host settings (plain HTTP) as a resolver or a `host[:port]` map. Default: HTTPS everywhere. */
  readonly hosts?: HostResolver | Readonly<Record<string, HostConfig>>;
  /** Credentials per host (default: anonymous). */
  readonly credentials?: CredentialsProvider;
  readonly retry?: Partial<RetryPolicy>;
  /** Per-request timeout until response headers, and idle timeout while streaming (default 30 s). */
  readonly timeoutMs?: number;
  /** Manifest size cap (default 4 MiB, as distribution's own limit). */
  readonly maxManifestBytes?: number;
  /** Default chunk size of chunked uploads (default 8 MiB). */
  readonly chunkSize?: number;
  readonly userAgent?: string;
  /** Injected for tests: how to wait between retries. */
  readonly sleep?: Sleep;
  /** Injected for tests: jitter source in [0, 1). */
  readonly random?: () => number;
  /** Injected for tests: clock (epoch ms) for token expiry and Retry-After dates. */
  readonly now?: () => number;
}

/** A manifest resolved down to one platform's image manifest. */
export interface PlatformManifest extends ParsedManifest {
  readonly document: ImageManifest;
  /** Digest of the index it was selected from (undefined when the reference was a plain image). */
  readonly indexDigest?: string;
}

/** Default manifest size cap: 4 MiB. */
export const DEFAULT_MAX_MANIFEST_BYTES = 4 << 20;
/** Default chunk size of chunked uploads: 8 MiB. */
export const DEFAULT_CHUNK_SIZE = 8 << 20;
/** Default request timeout: 30 s. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** OCI distribution client (pull, push, list, delete) with auth, retries and verification. */
export class OciClient {
  private readonly ctx: ClientContext;

  constructor(options: OciClientOptions = {}) {
    const fetchFn: FetchLike = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    const hosts = typeof options.hosts === 'function' ? options.hosts : hostConfigMap(options.hosts ?? {});
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const userAgent = options.userAgent ?? 'image-factory';
    const now = options.now ?? Date.now;
    const retry = resolveRetryPolicy(options.retry);
    const sleep = options.sleep ?? realSleep;
    const random = options.random ?? Math.random;
    const authorizer = new Authorizer({
      fetch: fetchFn,
      credentials: options.credentials ?? anonymous,
      timeoutMs,
      userAgent,
      now,
    });
    const transport = new Transport({
      fetch: fetchFn,
      hosts,
      authorizer,
      retry,
      timeoutMs,
      userAgent,
      sleep,
      random,
      now,
    });
    this.ctx = {
      transport,
      retry,
      sleep,
      random,
      maxManifestBytes: options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES,
      chunkSize: options.chunkSize ?? DEFAULT_CHUNK_SIZE,
    };
  }

  /** Resolves `registry/repo:tag` or `…@digest` to `{digest, mediaType, size}` (HEAD, GET fallback). */
  resolve(ref: string | ImageReference, options: ManifestReadOptions = {}): Promise<ResolvedManifest> {
    const parsed = typeof ref === 'string' ? parseReference(ref) : ref;
    return resolveManifest(this.ctx, parsed, manifestReference(parsed), options);
  }

  /** Fetches manifest bytes by tag or digest (size-capped; digest verified or computed). */
  getManifest(
    repo: RepoInput,
    reference: string,
    options: ManifestReadOptions = {},
  ): Promise<FetchedManifest> {
    return getManifest(this.ctx, toRepository(repo), reference, options);
  }

  /** Fetches and parses a manifest or index. */
  getManifestDocument(
    repo: RepoInput,
    reference: string,
    options: ManifestReadOptions = {},
  ): Promise<ParsedManifest> {
    return getManifestDocument(this.ctx, toRepository(repo), reference, options);
  }

  /**
   * Fetches the image manifest for `platform`: through the index when the reference names one,
   * directly when it names a single image (whose config is not checked against the platform).
   */
  async getPlatformManifest(
    repo: RepoInput,
    reference: string,
    platform: string | Platform,
    options: ManifestReadOptions = {},
  ): Promise<PlatformManifest> {
    const r = toRepository(repo);
    const top = await getManifestDocument(this.ctx, r, reference, options);
    if (top.document.kind === 'manifest') return { ...top, document: top.document };
    const chosen = selectPlatform(
      top.document,
      platform,
      `index ${r.registry}/${r.repository}@${top.digest}`,
    );
    const child = await getManifestDocument(this.ctx, r, chosen.digest, options);
    if (child.document.kind !== 'manifest') {
      throw new FactoryError(
        'UPSTREAM_UNAVAILABLE',
        `index ${r.registry}/${r.repository}@${top.digest} points at another index (${chosen.digest}) for its platform entry`,
      );
    }
    return { ...child, document: child.document, indexDigest: top.digest };
  }

  /** Streams a blob, verifying size and digest; the stream errors at the end on mismatch. */
  getBlob(repo: RepoInput, digest: string, options: BlobReadOptions = {}): Promise<Readable> {
    return getBlob(this.ctx, toRepository(repo), digest, options);
  }

  /** Reads a small blob into memory (default cap 4 MiB) and verifies its digest. */
  getBlobBytes(
    repo: RepoInput,
    digest: string,
    options: { maxBytes?: number; signal?: AbortSignal } = {},
  ): Promise<Buffer> {
    return getBlobBytes(
      this.ctx,
      toRepository(repo),
      digest,
      options.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES,
      options.signal,
    );
  }

  /** Downloads a blob to `destPath` via temp file + verify + rename (nothing left on failure). */
  downloadBlob(
    repo: RepoInput,
    digest: string,
    destPath: string,
    options: BlobReadOptions = {},
  ): Promise<DownloadedBlob> {
    return downloadBlob(this.ctx, toRepository(repo), digest, destPath, options);
  }

  /** HEADs a blob: `{size}` or undefined when absent. */
  statBlob(repo: RepoInput, digest: string, signal?: AbortSignal): Promise<{ size: number } | undefined> {
    return statBlob(this.ctx, toRepository(repo), digest, signal);
  }

  /** True when the repository has the blob. */
  async blobExists(repo: RepoInput, digest: string, signal?: AbortSignal): Promise<boolean> {
    return (await statBlob(this.ctx, toRepository(repo), digest, signal)) !== undefined;
  }

  /** Lists every tag of a repository, following `Link` pagination. */
  listTags(repo: RepoInput, options: ListOptions = {}): Promise<string[]> {
    return listTags(this.ctx, toRepository(repo), options);
  }

  /** Lists every repository of a registry (`_catalog`), following `Link` pagination. */
  listRepositories(registry: string, options: ListOptions = {}): Promise<string[]> {
    return listRepositories(this.ctx, registry, options);
  }

  /** Pushes a blob (skipped when present; monolithic or chunked; optional mount). */
  pushBlob(repo: RepoInput, source: BlobSource, options: PushBlobOptions = {}): Promise<PushedBlob> {
    return pushBlob(this.ctx, toRepository(repo), source, options);
  }

  /** Pushes manifest bytes under a tag or their digest. */
  pushManifest(
    repo: RepoInput,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
    signal?: AbortSignal,
  ): Promise<Descriptor> {
    return pushManifest(this.ctx, toRepository(repo), reference, bytes, mediaType, signal);
  }

  /** Pushes an image (layers, config, manifest) under `reference`, or by digest when undefined. */
  pushImage(repo: RepoInput, reference: string | undefined, spec: ImageSpec): Promise<Descriptor> {
    return pushImage(this.ctx, toRepository(repo), reference, spec);
  }

  /** Pushes an index over manifests already in the repository, under `reference` or by digest. */
  pushIndex(
    repo: RepoInput,
    reference: string | undefined,
    entries: readonly IndexEntry[],
    options: IndexOptions = {},
  ): Promise<Descriptor> {
    return pushIndex(this.ctx, toRepository(repo), reference, entries, options);
  }

  /** Deletes a manifest by digest. */
  deleteManifest(repo: RepoInput, digest: string, signal?: AbortSignal): Promise<void> {
    return deleteManifest(this.ctx, toRepository(repo), digest, signal);
  }
}
