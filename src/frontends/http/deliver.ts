/**
 * Streams a cached asset over HTTP: Content-Type/Length/Disposition, strong ETag (the sha256),
 * If-None-Match → 304, single byte ranges (206, or 416 with `Content-Range: bytes *\/size`),
 * If-Range, HEAD without a body. Multi-range requests get the whole asset (allowed by RFC 9110).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CachedAsset } from '../../cache/asset-cache.js';
import { FactoryError } from '../../errors.js';
import { contentDisposition } from '../../profile/content-type.js';

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

/** Sends `asset` as the response to `request`. */
export async function deliverAsset(
  request: FastifyRequest,
  reply: FastifyReply,
  asset: CachedAsset,
  info: DeliveryInfo,
): Promise<FastifyReply> {
  const etag = `"${asset.sha256}"`;
  // Representation headers are committed only on the success paths (200/206/304): a 416 or an
  // error while opening the bytes must not go out marked `public, immutable` for a year.
  const representation = (): FastifyReply => {
    reply
      .header('ETag', etag)
      .header('Accept-Ranges', 'bytes')
      .header('Cache-Control', 'public, max-age=31536000, immutable');
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
  const isHead = request.method === 'HEAD';
  const body = isHead ? undefined : await asset.open(range);
  representation();
  if (range) {
    reply.code(206).header('Content-Range', `bytes ${range.start}-${range.end}/${asset.size}`);
    reply.header('Content-Length', String(range.end - range.start + 1));
  } else {
    reply.code(200).header('Content-Length', String(asset.size));
  }
  return reply.send(body);
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
