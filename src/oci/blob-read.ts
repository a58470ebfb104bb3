/**
 * Reading blobs: existence checks, a streaming read that verifies the digest as bytes pass
 * (erroring at the end on mismatch), small buffered reads, and downloads to a file that appear
 * at their destination only once complete and verified.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FactoryError } from '../errors.js';
import { tempPathFor } from '../util/atomic-file.js';
import { type ClientContext, repoPath, waitBeforeRetry } from './context.js';
import { digestAlgorithm, digestMismatch, digestOf } from './digest.js';
import { TransientUpstreamError } from './failure.js';
import { pullScopes, type RepositoryRef } from './repository.js';

/** Options of blob reads. */
export interface BlobReadOptions {
  /** Expected size (from the descriptor); a longer or shorter body is an error. */
  readonly size?: number;
  readonly signal?: AbortSignal;
}

/** Result of a verified download. */
export interface DownloadedBlob {
  readonly digest: string;
  readonly size: number;
  readonly path: string;
}

function blobWhat(repo: RepositoryRef, digest: string): string {
  return `blob ${repo.repository}@${digest}`;
}

/**
 * HEADs a blob: its size, or undefined when the registry does not have it. `scopes` lets a push
 * reuse its push token for the existence check.
 */
export async function statBlob(
  ctx: ClientContext,
  repo: RepositoryRef,
  digest: string,
  signal?: AbortSignal,
  scopes: readonly string[] = pullScopes(repo),
): Promise<{ size: number } | undefined> {
  return ctx.transport.execute(
    {
      method: 'HEAD',
      registry: repo.registry,
      target: repoPath(repo, `blobs/${digest}`),
      scopes,
      expect: [200, 404],
      what: blobWhat(repo, digest),
      ...(signal ? { signal } : {}),
    },
    (res) =>
      Promise.resolve(
        res.status === 404 ? undefined : { size: Number(res.headers.get('content-length') ?? '0') },
      ),
  );
}

async function* verify(
  source: AsyncIterable<Buffer>,
  digest: string,
  expectedSize: number | undefined,
  what: string,
): AsyncGenerator<Buffer, void, undefined> {
  const hash = createHash(digestAlgorithm(digest));
  let size = 0;
  for await (const chunk of source) {
    size += chunk.length;
    if (expectedSize !== undefined && size > expectedSize) {
      throw new FactoryError(
        'DIGEST_MISMATCH',
        `${what}: received more than the expected ${expectedSize} bytes`,
      );
    }
    hash.update(chunk);
    yield chunk;
  }
  if (expectedSize !== undefined && size < expectedSize) {
    throw new TransientUpstreamError(
      'UPSTREAM_UNAVAILABLE',
      `${what}: body truncated, received ${size} of ${expectedSize} bytes`,
    );
  }
  const actual = `${digestAlgorithm(digest)}:${hash.digest('hex')}`;
  if (actual !== digest) throw digestMismatch(what, digest, actual);
}

/**
 * Streams a blob. The stream verifies size and digest while flowing and fails at the end on a
 * mismatch, so consumers must treat data as untrusted until the stream ends without error.
 */
export async function getBlob(
  ctx: ClientContext,
  repo: RepositoryRef,
  digest: string,
  options: BlobReadOptions = {},
  retry = true,
): Promise<Readable> {
  const what = `${blobWhat(repo, digest)} from ${repo.registry}`;
  const { body, declared } = await ctx.transport.execute(
    {
      method: 'GET',
      registry: repo.registry,
      target: repoPath(repo, `blobs/${digest}`),
      scopes: pullScopes(repo),
      expect: [200],
      what: blobWhat(repo, digest),
      retry,
      ...(options.signal ? { signal: options.signal } : {}),
    },
    (res) => {
      const length = res.headers.get('content-length');
      return Promise.resolve({ body: res.stream(), declared: length === null ? undefined : Number(length) });
    },
  );
  return Readable.from(verify(body, digest, options.size ?? declared, what), { objectMode: false });
}

/** Reads a small blob into memory (at most `maxBytes`) and verifies its digest. */
export async function getBlobBytes(
  ctx: ClientContext,
  repo: RepositoryRef,
  digest: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  const what = blobWhat(repo, digest);
  const bytes = await ctx.transport.execute(
    {
      method: 'GET',
      registry: repo.registry,
      target: repoPath(repo, `blobs/${digest}`),
      scopes: pullScopes(repo),
      expect: [200],
      what,
      ...(signal ? { signal } : {}),
    },
    (res) =>
      res.bytes(
        maxBytes,
        (size) =>
          new FactoryError(
            'UPSTREAM_UNAVAILABLE',
            `${what} on ${repo.registry} is ${size === undefined ? 'larger than' : `${size} bytes, over`} the ${maxBytes}-byte limit for in-memory reads`,
          ),
      ),
  );
  const actual = digestOf(bytes, digest);
  if (actual !== digest) throw digestMismatch(`${what} from ${repo.registry}`, digest, actual);
  return bytes;
}

/**
 * Downloads a blob to `destPath`: written to a sibling temp file, verified, then renamed, so the
 * destination only ever holds complete, verified content. Failed and interrupted transfers are
 * restarted per the retry policy — `maxAttempts` requests in all, Retry-After honoured; a digest
 * mismatch is not (the temp file is removed either way).
 */
export async function downloadBlob(
  ctx: ClientContext,
  repo: RepositoryRef,
  digest: string,
  destPath: string,
  options: BlobReadOptions = {},
): Promise<DownloadedBlob> {
  await mkdir(dirname(destPath), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const temp = tempPathFor(destPath);
    try {
      // One request per attempt: this loop owns the whole retry budget (the transport would
      // otherwise retry a failed request inside each attempt: attempts × attempts requests).
      const stream = await getBlob(ctx, repo, digest, options, false);
      await pipeline(
        stream,
        createWriteStream(temp, { flags: 'wx', flush: true }),
        options.signal ? { signal: options.signal } : {},
      );
      const { size } = await stat(temp);
      await rename(temp, destPath);
      return { digest, size, path: destPath };
    } catch (e) {
      await rm(temp, { force: true });
      if (!(e instanceof TransientUpstreamError) || options.signal?.aborted) throw e;
      if (attempt >= ctx.retry.maxAttempts) {
        throw new FactoryError(e.code, `${e.message} (download tried ${attempt} times)`, {
          cause: e,
        });
      }
      await waitBeforeRetry(ctx, attempt, options.signal, e.retryAfterMs);
    }
  }
}
