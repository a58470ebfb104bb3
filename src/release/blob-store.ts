/**
 * A local content-addressed blob store (`<dir>/sha256/<hex>`) in front of an ImageSource: each
 * blob is fetched once (single-flight), verified while copying, and renamed into place atomically.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidDigest } from '../oci/digest.js';
import { FactoryError } from '../errors.js';
import { SingleFlight } from '../util/single-flight.js';
import type { ImageSource } from './image-source.js';

/** Local cache of verified blobs. */
export class BlobStore {
  readonly #dir: string;
  readonly #flight = new SingleFlight<string, string>();
  /** Blobs verified by this process: re-hashing large blobs on every use would be wasted work. */
  readonly #verified = new Set<string>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Forgets that this process verified the blob at `path` (it was evicted). */
  forget(path: string): void {
    for (const d of this.#verified) if (this.pathOf(d) === path) this.#verified.delete(d);
  }

  /** Path a blob lives at once present. */
  pathOf(digest: string): string {
    if (!isValidDigest(digest)) throw new FactoryError('NOT_FOUND', `invalid digest "${digest}"`);
    const [alg, hex] = digest.split(':') as [string, string];
    return join(this.#dir, alg, hex);
  }

  async #verify(path: string, digest: string): Promise<boolean> {
    const hash = createHash(digest.startsWith('sha512:') ? 'sha512' : 'sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return `${digest.split(':')[0]}:${hash.digest('hex')}` === digest;
  }

  /** Returns the local path of `digest`, fetching it from `source`/`repo` if needed. */
  ensure(
    source: ImageSource,
    repo: string,
    digest: string,
    signal?: AbortSignal,
    size?: number,
  ): Promise<string> {
    return this.#flight.do(digest, async () => {
      const path = this.pathOf(digest);
      if (await stat(path).catch(() => undefined)) {
        if (this.#verified.has(digest) || (await this.#verify(path, digest))) {
          this.#verified.add(digest);
          return path;
        }
        await rm(path, { force: true }); // corrupt on disk: drop it and fetch again
      }
      await source.fetchBlob(repo, digest, path, signal, size);
      this.#verified.add(digest);
      return path;
    });
  }
}
