/**
 * OCI-registry SchematicStore (spec §6.4): the canonical bytes are the blob `sha256:<ID>` of a
 * repository, wrapped in an image (empty config + that one layer) tagged `<ID>` so registry garbage
 * collection keeps it. Reads fetch the blob by digest; the client verifies the digest, so corrupt
 * bytes become a logged miss and are never returned. Several replicas can share one repository.
 */
import { createHash } from 'node:crypto';
import { FactoryError, isFactoryError } from '../errors.js';
import {
  buildImageManifest,
  EMPTY_CONFIG_DESCRIPTOR,
  EMPTY_JSON,
  type OciClient,
  type RepoInput,
  type RepositoryRef,
  toRepository,
} from '../oci/index.js';
import { isSchematicId } from '../schematic/id.js';
import { type Logger, silentLogger } from '../util/logger.js';
import { SingleFlight } from '../util/single-flight.js';
import type { SchematicStore } from './schematic-store.js';

/** Media type of the schematic layer (and the artifact type of its image). */
export const SCHEMATIC_MEDIA_TYPE = 'application/vnd.sidero.dev-image.schematic';

/** Default cap on a stored schematic's size when reading it (far above the API's body limit). */
export const DEFAULT_SCHEMATIC_MAX_BYTES = 1 << 20;

/** Options of {@link RegistrySchematicStore}. */
export interface RegistryStoreOptions {
  /** Largest blob `get` reads into memory (default {@link DEFAULT_SCHEMATIC_MAX_BYTES}). */
  readonly maxBytes?: number;
}

/** Stores schematics as blobs (plus a tagged one-layer image) in an OCI repository. */
export class RegistrySchematicStore implements SchematicStore {
  readonly #client: OciClient;
  readonly #repo: RepositoryRef;
  readonly #log: Logger;
  readonly #maxBytes: number;
  readonly #puts = new SingleFlight<string, void>();

  constructor(
    client: OciClient,
    repository: RepoInput,
    log: Logger = silentLogger,
    options: RegistryStoreOptions = {},
  ) {
    this.#client = client;
    this.#repo = toRepository(repository);
    this.#log = log;
    this.#maxBytes = options.maxBytes ?? DEFAULT_SCHEMATIC_MAX_BYTES;
  }

  #where(id: string): string {
    return `${this.#repo.registry}/${this.#repo.repository}@sha256:${id}`;
  }

  /** Reads and verifies the blob; `corrupt` when the registry serves bytes that do not hash to `id`. */
  async #read(id: string): Promise<Buffer | undefined | 'corrupt'> {
    try {
      return await this.#client.getBlobBytes(this.#repo, `sha256:${id}`, { maxBytes: this.#maxBytes });
    } catch (e) {
      if (isFactoryError(e, 'NOT_FOUND')) return undefined;
      if (isFactoryError(e, 'DIGEST_MISMATCH')) {
        this.#log.error(
          { id, blob: this.#where(id), err: e.message },
          'stored schematic failed verification; treating as missing',
        );
        return 'corrupt';
      }
      // Registry outages propagate so callers (and the cached decorator) do not record a miss.
      throw e;
    }
  }

  async get(id: string): Promise<Buffer | undefined> {
    // Malformed IDs never reach the registry: they are not digests and could smuggle path segments.
    if (!isSchematicId(id)) return undefined;
    const found = await this.#read(id);
    return found === 'corrupt' ? undefined : found;
  }

  /** True when the registry reports the blob (a HEAD; content is verified only by `get`). */
  async has(id: string): Promise<boolean> {
    if (!isSchematicId(id)) return false;
    return this.#client.blobExists(this.#repo, `sha256:${id}`);
  }

  put(id: string, bytes: Buffer): Promise<void> {
    if (!isSchematicId(id)) {
      return Promise.reject(
        new FactoryError('INTERNAL', `schematic store put: invalid schematic ID ${JSON.stringify(id)}`),
      );
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== id) {
      return Promise.reject(
        new FactoryError(
          'INTERNAL',
          `schematic store put: bytes hash to ${actual}, not to the schematic ID ${id}`,
        ),
      );
    }
    return this.#puts.do(id, () => this.#store(id, bytes));
  }

  async #store(id: string, bytes: Buffer): Promise<void> {
    const digest = `sha256:${id}`;
    if (await this.#client.statBlob(this.#repo, digest)) {
      // Present already (another replica, an earlier put): check it really holds these bytes,
      // because a registry keeps the first copy of a digest forever and never lets a push replace it.
      if ((await this.#read(id)) === 'corrupt') {
        throw new FactoryError(
          'DIGEST_MISMATCH',
          `schematic store put: registry blob ${this.#where(id)} holds corrupt bytes, and a registry never overwrites an existing blob; remove the blob's data on the registry, then retry`,
        );
      }
    } else {
      await this.#client.pushBlob(this.#repo, bytes, { digest });
    }
    await this.#client.pushBlob(this.#repo, EMPTY_JSON, { digest: EMPTY_CONFIG_DESCRIPTOR.digest });
    // Re-pushing the identical manifest is a no-op for the registry, and it restores the tag if an
    // earlier put stopped between blob and manifest.
    const manifest = buildImageManifest({
      config: EMPTY_CONFIG_DESCRIPTOR,
      layers: [{ mediaType: SCHEMATIC_MEDIA_TYPE, digest, size: bytes.length }],
      artifactType: SCHEMATIC_MEDIA_TYPE,
    });
    await this.#client.pushManifest(this.#repo, id, manifest.bytes, manifest.mediaType);
  }
}
