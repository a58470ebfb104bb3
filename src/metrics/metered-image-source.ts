/** An ImageSource decorator counting release-source requests and failures by operation. */
import { isFactoryError } from '../errors.js';
import type { FetchedManifest, ImageSource } from '../release/image-source.js';
import type { FactoryMetrics } from './metrics.js';

/** Wraps `inner` so every request to the release origin is counted. */
export class MeteredImageSource implements ImageSource {
  readonly #inner: ImageSource;
  readonly #m: FactoryMetrics;

  constructor(inner: ImageSource, metrics: FactoryMetrics) {
    this.#inner = inner;
    this.#m = metrics;
  }

  /** The wrapped source's description. */
  get description(): string {
    return this.#inner.description;
  }

  async #count<T>(operation: string, call: () => Promise<T>): Promise<T> {
    this.#m.releaseRequests.inc({ operation });
    try {
      return await call();
    } catch (e) {
      this.#m.releaseErrors.inc({ operation, code: isFactoryError(e) ? e.code : 'INTERNAL' });
      throw e;
    }
  }

  /** Lists tags (counted as `list_tags`). */
  listTags(repo: string, signal?: AbortSignal): Promise<string[]> {
    return this.#count('list_tags', () => this.#inner.listTags(repo, signal));
  }

  /** Fetches a manifest (counted as `get_manifest`). */
  getManifest(repo: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    return this.#count('get_manifest', () => this.#inner.getManifest(repo, reference, signal));
  }

  /** Fetches a blob (counted as `fetch_blob`). */
  fetchBlob(repo: string, digest: string, dest: string, signal?: AbortSignal, size?: number): Promise<void> {
    return this.#count('fetch_blob', () => this.#inner.fetchBlob(repo, digest, dest, signal, size));
  }
}
