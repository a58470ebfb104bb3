/** Plain node:http downloads for benchmarks: one fresh loopback connection per request, body consumed as it arrives. */
import { createHash } from 'node:crypto';
import { get } from 'node:http';

/** What one download returned. */
export interface Download {
  status: number;
  bytes: number;
  /** Hex sha256 of the body, when asked for. */
  sha256?: string;
  /** Time from request to the last body byte. */
  ms: number;
}

/** GETs `url` on its own connection, counting (and optionally hashing) the body without keeping it. */
export function download(url: string, options: { hash?: boolean } = {}): Promise<Download> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      const hash = options.hash === true ? createHash('sha256') : undefined;
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash?.update(chunk);
      });
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          bytes,
          ...(hash ? { sha256: hash.digest('hex') } : {}),
          ms: performance.now() - start,
        }),
      );
    });
    req.on('error', reject);
  });
}

/** Starts `n` downloads of `url` at once; resolves when all have finished. */
export function downloadAll(url: string, n: number, options: { hash?: boolean } = {}): Promise<Download[]> {
  return Promise.all(Array.from({ length: n }, () => download(url, options)));
}
