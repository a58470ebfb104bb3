/**
 * Pushing blobs: skip when present, optional cross-repository mount, then a monolithic
 * (POST + PUT) or chunked (POST + PATCH… + PUT) upload. An upload session that fails midway is
 * restarted from a fresh POST, because distribution cannot resume a broken session.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { FactoryError } from '../errors.js';
import { type ClientContext, repoPath, waitBeforeRetry } from './context.js';
import { digestFile, digestMismatch, digestOf, isValidDigest } from './digest.js';
import { TransientUpstreamError } from './failure.js';
import { statBlob } from './blob-read.js';
import { pushScopes, type RepositoryRef } from './repository.js';
import type { BodySource } from './transport.js';

/** Blob content: bytes in memory or a file on disk (streamed, never loaded whole). */
export type BlobSource = Uint8Array | { readonly path: string };

/** Options of {@link pushBlob}. */
export interface PushBlobOptions {
  /** Known digest (saves hashing a file first; verified for in-memory data). */
  readonly digest?: string;
  /** Upload in PATCH chunks of `chunkSize` bytes instead of one PUT. */
  readonly chunked?: boolean;
  readonly chunkSize?: number;
  /** Repository (same registry) to mount the blob from instead of uploading it. */
  readonly mountFrom?: string;
  readonly signal?: AbortSignal;
}

/** What happened to a pushed blob. */
export interface PushedBlob {
  readonly digest: string;
  readonly size: number;
  readonly outcome: 'exists' | 'mounted' | 'uploaded';
}

interface Content {
  readonly digest: string;
  readonly size: number;
  readonly whole: BodySource;
  readChunk(offset: number, length: number): Promise<Buffer>;
}

async function describeContent(
  source: BlobSource,
  digest: string | undefined,
  signal?: AbortSignal,
): Promise<Content> {
  if (source instanceof Uint8Array) {
    const actual = digestOf(source, digest);
    if (digest !== undefined && actual !== digest) throw digestMismatch('blob to push', digest, actual);
    const bytes = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    return {
      digest: actual,
      size: bytes.length,
      whole: () => bytes,
      readChunk: (o, l) => Promise.resolve(bytes.subarray(o, o + l)),
    };
  }
  const { path } = source;
  const known =
    digest === undefined ? await digestFile(path, signal) : { digest, size: (await stat(path)).size };
  return {
    ...known,
    whole: () => createReadStream(path),
    readChunk: async (offset, length) => {
      const handle = await open(path, 'r');
      try {
        const buf = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buf, 0, length, offset);
        return buf.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },
  };
}

// Appends `digest=` to an upload URL that may already carry distribution's `_state` query.
function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

function nextLocation(
  ctx: ClientContext,
  repo: RepositoryRef,
  base: string,
  headers: Headers,
  what: string,
): string {
  const location = headers.get('location');
  if (!location)
    throw new FactoryError('UPSTREAM_UNAVAILABLE', `registry ${repo.registry} sent no Location for ${what}`);
  return new URL(location, ctx.transport.url(repo.registry, base)).toString();
}

async function startUpload(
  ctx: ClientContext,
  repo: RepositoryRef,
  content: Content,
  options: PushBlobOptions,
): Promise<string | 'mounted'> {
  const mount = options.mountFrom !== undefined && options.mountFrom !== repo.repository;
  const query = mount
    ? `?mount=${encodeURIComponent(content.digest)}&from=${encodeURIComponent(options.mountFrom ?? '')}`
    : '';
  const target = repoPath(repo, `blobs/uploads/${query}`);
  const what = `upload of blob ${repo.repository}@${content.digest}`;
  return ctx.transport.execute(
    {
      method: 'POST',
      registry: repo.registry,
      target,
      headers: { 'content-length': '0' },
      scopes: pushScopes(repo, options.mountFrom),
      expect: [201, 202],
      what,
      ...(options.signal ? { signal: options.signal } : {}),
    },
    (res) =>
      Promise.resolve(res.status === 201 ? 'mounted' : nextLocation(ctx, repo, target, res.headers, what)),
  );
}

async function sendContent(
  ctx: ClientContext,
  repo: RepositoryRef,
  content: Content,
  start: string,
  options: PushBlobOptions,
): Promise<void> {
  const what = `upload of blob ${repo.repository}@${content.digest}`;
  const common = {
    registry: repo.registry,
    scopes: pushScopes(repo),
    // A half-sent chunk leaves the session in an unknown state; the caller restarts the session.
    retry: false,
    what,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  let location = start;
  let finalBody: BodySource | undefined = content.whole;
  let finalLength = content.size;
  if (options.chunked) {
    const chunkSize = Math.max(1, options.chunkSize ?? ctx.chunkSize);
    for (let offset = 0; offset < content.size; offset += chunkSize) {
      const chunk = await content.readChunk(offset, Math.min(chunkSize, content.size - offset));
      const target = location;
      location = await ctx.transport.execute(
        {
          ...common,
          method: 'PATCH',
          target,
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${offset}-${offset + chunk.length - 1}`,
            'content-length': String(chunk.length),
          },
          body: () => chunk,
          expect: [202],
        },
        (res) => Promise.resolve(nextLocation(ctx, repo, target, res.headers, what)),
      );
    }
    finalBody = undefined;
    finalLength = 0;
  }
  const target = withDigest(location, content.digest);
  const stored = await ctx.transport.execute(
    {
      ...common,
      method: 'PUT',
      target,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(finalLength) },
      ...(finalBody ? { body: finalBody } : {}),
      expect: [201],
    },
    (res) => Promise.resolve(res.headers.get('docker-content-digest')),
  );
  if (stored !== null && isValidDigest(stored) && stored !== content.digest) {
    throw digestMismatch(`blob pushed to ${repo.registry}/${repo.repository}`, content.digest, stored);
  }
}

/** Pushes a blob unless the repository already has it; returns its digest, size and what happened. */
export async function pushBlob(
  ctx: ClientContext,
  repo: RepositoryRef,
  source: BlobSource,
  options: PushBlobOptions = {},
): Promise<PushedBlob> {
  const content = await describeContent(source, options.digest, options.signal);
  if (await statBlob(ctx, repo, content.digest, options.signal, pushScopes(repo)))
    return { digest: content.digest, size: content.size, outcome: 'exists' };
  for (let attempt = 1; ; attempt++) {
    const start = await startUpload(ctx, repo, content, options);
    if (start === 'mounted') return { digest: content.digest, size: content.size, outcome: 'mounted' };
    try {
      await sendContent(ctx, repo, content, start, options);
      return { digest: content.digest, size: content.size, outcome: 'uploaded' };
    } catch (e) {
      if (
        !(e instanceof TransientUpstreamError) ||
        attempt >= ctx.retry.maxAttempts ||
        options.signal?.aborted
      )
        throw e;
      await waitBeforeRetry(ctx, attempt, options.signal);
    }
  }
}
