/** ImageSource over an OCI registry through the distribution client (namespace applied by the caller). */
import { FactoryError } from '../errors.js';
import type { OciClient } from '../oci/index.js';
import type { FetchedManifest, ImageSource } from './image-source.js';

/** Reads release images from `<registry>/<repo>`. */
export class RegistryImageSource implements ImageSource {
  readonly description: string;
  readonly #client: OciClient;
  readonly #registry: string;

  constructor(client: OciClient, registry: string) {
    this.#client = client;
    this.#registry = registry;
    this.description = `registry ${registry}`;
  }

  #repo(repo: string): string {
    return `${this.#registry}/${repo}`;
  }

  async listTags(repo: string, signal?: AbortSignal): Promise<string[]> {
    try {
      return await this.#client.listTags(this.#repo(repo), signal ? { signal } : {});
    } catch (e) {
      // A repository that does not exist has no tags; anything else (auth, outage) is an error.
      if (e instanceof FactoryError && e.code === 'NOT_FOUND') return [];
      throw e;
    }
  }

  async getManifest(repo: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const m = await this.#client.getManifest(this.#repo(repo), reference, signal ? { signal } : {});
    return { bytes: m.bytes, mediaType: m.mediaType, digest: m.digest };
  }

  async fetchBlob(
    repo: string,
    digest: string,
    dest: string,
    signal?: AbortSignal,
    size?: number,
  ): Promise<void> {
    await this.#client.downloadBlob(this.#repo(repo), digest, dest, {
      ...(signal ? { signal } : {}),
      ...(size !== undefined ? { size } : {}),
    });
  }
}
