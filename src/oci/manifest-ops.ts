/**
 * Manifest operations: resolve (HEAD, GET fallback), fetch with size cap and digest checks,
 * push (by tag or digest), delete.
 */
import { FactoryError } from '../errors.js';
import { type ClientContext, repoPath } from './context.js';
import { digestMismatch, digestOf, isValidDigest } from './digest.js';
import { parseManifest, type Descriptor, type ManifestDocument } from './manifest.js';
import { isManifestMediaType, MANIFEST_MEDIA_TYPES, normalizeMediaType } from './media-types.js';
import { pullScopes, pushScopes, type RepositoryRef } from './repository.js';

/** Options of manifest reads. */
export interface ManifestReadOptions {
  /** Accepted media types (default: OCI index/manifest, Docker list/manifest). */
  readonly accept?: readonly string[];
  /** Size cap; defaults to the client's `maxManifestBytes`. */
  readonly maxBytes?: number;
  readonly signal?: AbortSignal;
}

/** A fetched manifest: exact bytes plus their digest and media type. */
export interface FetchedManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

/** A fetched and parsed manifest. */
export interface ParsedManifest extends FetchedManifest {
  readonly document: ManifestDocument;
}

/** What a reference resolves to. */
export interface ResolvedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
}

function manifestWhat(repo: RepositoryRef, reference: string): string {
  return `manifest ${repo.repository}${isValidDigest(reference) ? '@' : ':'}${reference}`;
}

function tooLarge(repo: RepositoryRef, reference: string, max: number, size?: number): FactoryError {
  const actual = size === undefined ? `more than ${max}` : String(size);
  return new FactoryError(
    'MANIFEST_TOO_LARGE',
    `${manifestWhat(repo, reference)} on ${repo.registry} is ${actual} bytes; the limit is ${max}`,
  );
}

// Content-Type is authoritative when it names a manifest type; some registries send
// `application/json`, in which case the document's own mediaType decides.
function mediaTypeOf(bytes: Buffer, contentType: string | null): string {
  const header = normalizeMediaType(contentType ?? '');
  if (isManifestMediaType(header)) return header;
  try {
    const doc: unknown = JSON.parse(bytes.toString('utf8'));
    if (
      typeof doc === 'object' &&
      doc !== null &&
      typeof (doc as { mediaType?: unknown }).mediaType === 'string'
    ) {
      return (doc as { mediaType: string }).mediaType;
    }
  } catch {
    // Parsing problems are reported by whoever parses the document.
  }
  return header;
}

/** GETs a manifest, enforcing the size cap and checking digests (by-digest and server-reported). */
export async function getManifest(
  ctx: ClientContext,
  repo: RepositoryRef,
  reference: string,
  options: ManifestReadOptions = {},
): Promise<FetchedManifest> {
  const max = options.maxBytes ?? ctx.maxManifestBytes;
  const what = manifestWhat(repo, reference);
  return ctx.transport.execute(
    {
      method: 'GET',
      registry: repo.registry,
      target: repoPath(repo, `manifests/${reference}`),
      headers: { accept: (options.accept ?? MANIFEST_MEDIA_TYPES).join(', ') },
      scopes: pullScopes(repo),
      expect: [200],
      what,
      ...(options.signal ? { signal: options.signal } : {}),
    },
    async (res) => {
      const bytes = await res.bytes(max, (size) => tooLarge(repo, reference, max, size));
      const pinned = isValidDigest(reference) ? reference : undefined;
      const digest = digestOf(bytes, pinned);
      if (pinned !== undefined && digest !== pinned)
        throw digestMismatch(`${what} from ${repo.registry}`, pinned, digest);
      const reported = res.headers.get('docker-content-digest');
      if (reported !== null && isValidDigest(reported)) {
        const comparable = digestOf(bytes, reported);
        if (comparable !== reported)
          throw digestMismatch(`${what} from ${repo.registry} (Docker-Content-Digest)`, reported, comparable);
      }
      return {
        bytes,
        mediaType: mediaTypeOf(bytes, res.headers.get('content-type')),
        digest: pinned ?? digestOf(bytes),
        size: bytes.length,
      };
    },
  );
}

/** GETs and parses a manifest. */
export async function getManifestDocument(
  ctx: ClientContext,
  repo: RepositoryRef,
  reference: string,
  options: ManifestReadOptions = {},
): Promise<ParsedManifest> {
  const fetched = await getManifest(ctx, repo, reference, options);
  const document = parseManifest(
    fetched.bytes,
    fetched.mediaType,
    `${manifestWhat(repo, reference)} from ${repo.registry}`,
  );
  return { ...fetched, document };
}

/** Resolves a tag or digest to `{digest, mediaType, size}` with a HEAD, falling back to GET. */
export async function resolveManifest(
  ctx: ClientContext,
  repo: RepositoryRef,
  reference: string,
  options: ManifestReadOptions = {},
): Promise<ResolvedManifest> {
  const head = await ctx.transport.execute(
    {
      method: 'HEAD',
      registry: repo.registry,
      target: repoPath(repo, `manifests/${reference}`),
      headers: { accept: (options.accept ?? MANIFEST_MEDIA_TYPES).join(', ') },
      scopes: pullScopes(repo),
      // 405: registries without HEAD support; answered by the GET fallback below.
      expect: [200, 405],
      what: manifestWhat(repo, reference),
      ...(options.signal ? { signal: options.signal } : {}),
    },
    (res) =>
      Promise.resolve({
        ok: res.status === 200,
        digest: res.headers.get('docker-content-digest'),
        mediaType: normalizeMediaType(res.headers.get('content-type') ?? ''),
        size: Number(res.headers.get('content-length') ?? 'NaN'),
      }),
  );
  const pinned = isValidDigest(reference) ? reference : undefined;
  if (
    head.ok &&
    head.digest !== null &&
    isValidDigest(head.digest) &&
    isManifestMediaType(head.mediaType) &&
    Number.isSafeInteger(head.size)
  ) {
    if (
      pinned !== undefined &&
      head.digest !== pinned &&
      head.digest.split(':')[0] === pinned.split(':')[0]
    ) {
      throw digestMismatch(
        `${manifestWhat(repo, reference)} from ${repo.registry} (Docker-Content-Digest)`,
        pinned,
        head.digest,
      );
    }
    const max = options.maxBytes ?? ctx.maxManifestBytes;
    if (head.size > max) throw tooLarge(repo, reference, max, head.size);
    return { digest: pinned ?? head.digest, mediaType: head.mediaType, size: head.size };
  }
  const fetched = await getManifest(ctx, repo, reference, options);
  return { digest: fetched.digest, mediaType: fetched.mediaType, size: fetched.size };
}

/** PUTs a manifest under a tag or its digest; returns its descriptor. */
export async function pushManifest(
  ctx: ClientContext,
  repo: RepositoryRef,
  reference: string,
  bytes: Uint8Array,
  mediaType: string,
  signal?: AbortSignal,
): Promise<Descriptor> {
  const what = manifestWhat(repo, reference);
  if (bytes.byteLength > ctx.maxManifestBytes)
    throw tooLarge(repo, reference, ctx.maxManifestBytes, bytes.byteLength);
  const pinned = isValidDigest(reference) ? reference : undefined;
  const digest = digestOf(bytes, pinned);
  if (pinned !== undefined && digest !== pinned) throw digestMismatch(`${what} to push`, pinned, digest);
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stored = await ctx.transport.execute(
    {
      method: 'PUT',
      registry: repo.registry,
      target: repoPath(repo, `manifests/${reference}`),
      headers: { 'content-type': mediaType },
      body: () => body,
      scopes: pushScopes(repo),
      expect: [201],
      what,
      ...(signal ? { signal } : {}),
    },
    (res) => Promise.resolve(res.headers.get('docker-content-digest')),
  );
  const sha = digestOf(bytes);
  if (stored !== null && isValidDigest(stored) && stored !== sha && stored !== digest) {
    throw digestMismatch(`${what} pushed to ${repo.registry}`, sha, stored);
  }
  return { mediaType, digest: pinned ?? sha, size: body.length };
}

/** DELETEs a manifest by digest (the registry must have deletion enabled). */
export async function deleteManifest(
  ctx: ClientContext,
  repo: RepositoryRef,
  digest: string,
  signal?: AbortSignal,
): Promise<void> {
  await ctx.transport.execute(
    {
      method: 'DELETE',
      registry: repo.registry,
      target: repoPath(repo, `manifests/${digest}`),
      scopes: [`repository:${repo.repository}:delete`],
      expect: [202, 200],
      what: manifestWhat(repo, digest),
      ...(signal ? { signal } : {}),
    },
    () => Promise.resolve(),
  );
}
