/**
 * Streams a cached asset over HTTP: Content-Type/Length/Disposition, strong ETag (the sha256),
 * If-None-Match → 304, single byte ranges (206, or 416 with `Content-Range: bytes *\/size`),
 * If-Range, HEAD without a body. Multi-range requests get the whole asset (allowed by RFC 9110).
 * Behind nginx (`http.accelRedirect`) a hit is answered with headers only and nginx sends the file.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { isAbsolute, relative, sep } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CachedAsset, LocalFile } from '../../cache/asset-cache.js';
import { FactoryError } from '../../errors.js';
import { contentDisposition } from '../../profile/content-type.js';
import { BufferPool, sendFileRange } from './file-sender.js';

/** A byte range, inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a Range header for a resource of `size` bytes: undefined = serve everything,
 * 'unsatisfiable' = 416.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m?.[1]) return undefined; // unknown unit: ignore the header
  const specs = m[1].split(',');
  if (specs.length !== 1) return undefined;
  const spec = (specs[0] ?? '').trim();
  const r = /^(\d*)-(\d*)$/.exec(spec);
  if (!r || (r[1] === '' && r[2] === '')) return undefined;
  if (r[1] === '') {
    const suffix = Number(r[2]);
    if (suffix === 0) return 'unsatisfiable';
    // A suffix of an empty representation has no bytes to name in Content-Range: send it whole.
    if (size === 0) return undefined;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(r[1]);
  const end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
  if (r[2] !== '' && Number(r[2]) < start) return undefined; // syntactically invalid: ignore
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** Whether an If-Match / If-None-Match list names `etag`; If-Match compares strongly (no `W/`). */
function etagMatches(header: string | undefined, etag: string, strong = false): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => (strong ? t.trim() : t.trim().replace(/^W\//, '')) === etag);
}

/** How to present the asset. */
export interface DeliveryInfo {
  contentType: string;
  /** Download name (`Content-Disposition`); omitted for registry blobs, which are no downloads. */
  filename?: string;
}

/** `http.accelRedirect`: cache hits are handed to a front nginx as `X-Accel-Redirect`. */
export interface AccelRedirect {
  /** The internal location's prefix, e.g. `/_factory` (no trailing slash). */
  readonly prefix: string;
  /** The directory that location aliases (the data dir); files outside it are sent by Node. */
  readonly root: string;
}

/** Options of {@link Delivery}. */
export interface DeliveryOptions {
  readonly accelRedirect?: AccelRedirect;
  /** Read size of bodies sent from local files (default 1 MiB). */
  readonly chunkBytes?: number;
  /** Free read buffers kept for reuse (default 16). */
  readonly pooledBuffers?: number;
  /** `http.responseIdleTimeout`, armed on the socket when a body is sent from a local file. */
  readonly responseIdleMs?: number;
}

/**
 * The request header a front nginx sets to say it serves `X-Accel-Redirect` answers
 * (`proxy_set_header X-Sendfile-Type X-Accel-Redirect;`): without it — a client talking to the
 * factory directly, a health check — the bytes come from the factory itself.
 */
export const ACCEL_REQUEST_HEADER = 'x-sendfile-type';

const DEFAULT_CHUNK = 1 << 20;

/** The `X-Accel-Redirect` URI of `file` under `accel`, or undefined when it is outside its root. */
export function accelUri(accel: AccelRedirect, file: string): string | undefined {
  const rel = relative(accel.root, file);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return `${accel.prefix}/${rel.split(sep).map(encodeURIComponent).join('/')}`;
}

/**
 * Sends cached assets: conditional requests and ranges are decided here, then the bytes go out as
 * an `X-Accel-Redirect` to the front nginx (configured, asked for, and the bytes are one local
 * file), from the local file with reused buffers, or from the asset's stream.
 */
export class Delivery {
  readonly #accel: AccelRedirect | undefined;
  readonly #pool: BufferPool;
  readonly #responseIdleMs: number;

  constructor(options: DeliveryOptions = {}) {
    this.#accel = options.accelRedirect;
    this.#pool = new BufferPool(options.chunkBytes ?? DEFAULT_CHUNK, options.pooledBuffers ?? 16);
    this.#responseIdleMs = options.responseIdleMs ?? 0;
  }

  /** Sends `asset` as the response to `request`. */
  async send(
    request: FastifyRequest,
    reply: FastifyReply,
    asset: CachedAsset,
    info: DeliveryInfo,
  ): Promise<FastifyReply> {
    const etag = `"${asset.sha256}"`;
    // Representation headers are committed only on the success paths (200/206/304): a 416 or an
    // error while opening the bytes must not go out marked `public, immutable` for a year.
    const representation = (ranges = true): FastifyReply => {
      reply.header('ETag', etag).header('Cache-Control', 'public, max-age=31536000, immutable');
      if (ranges) reply.header('Accept-Ranges', 'bytes');
      if (info.filename !== undefined) reply.header('Content-Disposition', contentDisposition(info.filename));
      return reply.type(info.contentType);
    };

    // If-Match first (RFC 9110 §13.2.2): a client resuming against another version must not mix bytes.
    const ifMatch = request.headers['if-match'];
    if (ifMatch !== undefined && !etagMatches(ifMatch, etag, true)) {
      throw new FactoryError(
        'PRECONDITION_FAILED',
        'precondition failed: If-Match does not match the asset ETag',
        {
          headers: { ETag: etag },
        },
      );
    }
    if (etagMatches(request.headers['if-none-match'], etag)) return representation().code(304).send();

    const ifRange = request.headers['if-range'];
    const rangeHeader = ifRange === undefined || ifRange === etag ? request.headers.range : undefined;
    const range = parseRange(rangeHeader, asset.size);
    if (range === 'unsatisfiable') {
      throw new FactoryError(
        'RANGE_NOT_SATISFIABLE',
        `range "${rangeHeader}" is not satisfiable for ${asset.size} bytes`,
        {
          headers: { 'Content-Range': `bytes */${asset.size}`, 'Accept-Ranges': 'bytes' },
        },
      );
    }
    const local = await asset.localFile?.();
    const accel = local && this.#accelFor(request, local);
    if (accel !== undefined) {
      // nginx serves the file (sendfile, Range, HEAD) with these headers; it adds Accept-Ranges
      // and Content-Length itself, and the empty body lets it keep the upstream connection.
      representation(false).code(200).header('X-Accel-Redirect', accel).header('Content-Length', '0');
      return reply.send('');
    }
    const isHead = request.method === 'HEAD';
    const start = range?.start ?? 0;
    const end = range?.end ?? asset.size - 1;
    if (!isHead && local && asset.size > 0) {
      const fh = await open(local.path, 'r');
      this.#status(representation(), range, asset.size);
      return this.#sendFile(request, reply, fh, local.offset + start, local.offset + end);
    }
    const body = isHead ? undefined : await asset.open(range);
    this.#status(representation(), range, asset.size);
    return reply.send(body);
  }

  #status(reply: FastifyReply, range: ByteRange | undefined, size: number): void {
    if (range) {
      reply.code(206).header('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
      reply.header('Content-Length', String(range.end - range.start + 1));
    } else {
      reply.code(200).header('Content-Length', String(size));
    }
  }

  /** The redirect URI when this answer may go through the front nginx. */
  #accelFor(request: FastifyRequest, local: LocalFile): string | undefined {
    if (!this.#accel || local.offset !== 0) return undefined;
    const asked = request.headers[ACCEL_REQUEST_HEADER];
    if (typeof asked !== 'string' || asked.toLowerCase() !== 'x-accel-redirect') return undefined;
    // nginx answers If-Match from its own validators (it has none of ours): Node serves those.
    if (request.headers['if-match'] !== undefined) return undefined;
    return accelUri(this.#accel, local.path);
  }

  /** Writes the headers and streams the file range from reused buffers (the reply is hijacked). */
  #sendFile(
    request: FastifyRequest,
    reply: FastifyReply,
    fh: FileHandle,
    start: number,
    end: number,
  ): FastifyReply {
    const socket = request.raw.socket as Socket | undefined;
    // What the idle-timeout hook does on send (onSend does not run for a hijacked reply).
    if (this.#responseIdleMs > 0 && typeof socket?.setTimeout === 'function')
      socket.setTimeout(this.#responseIdleMs);
    reply.hijack();
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) headers[name] = typeof value === 'number' ? String(value) : value;
    }
    reply.raw.writeHead(reply.statusCode, headers);
    sendFileRange(reply.raw, fh, start, end, this.#pool)
      .catch((e: unknown) => request.log.error({ err: e }, 'cached asset transfer failed; connection cut'))
      .finally(() => fh.close().catch(() => undefined));
    return reply;
  }
}

/**
 * The `<sha>  <filename>\n` checksum file body (sha256sum/sha512sum format). The filename can be
 * user input (`?filename=`): like GNU coreutils, a name with a backslash, newline or CR is escaped
 * and the line prefixed with a backslash, so `sha256sum -c` reads one entry with the right name.
 */
export function checksumBody(asset: CachedAsset, algorithm: 'sha256' | 'sha512', filename: string): string {
  const hex = algorithm === 'sha256' ? asset.sha256 : asset.sha512;
  if (!/[\\\n\r]/.test(filename)) return `${hex}  ${filename}\n`;
  const escaped = filename.replace(/[\\\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : '\\r'));
  return `\\${hex}  ${escaped}\n`;
}
