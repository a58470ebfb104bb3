/**
 * The source-image proxy (image-factory §5.4): `/v2/siderolabs/<component>/…` serves the release's
 * own images — imager, installer, installer-base, extensions, overlays — read through the
 * configured release source (a registry or OCI layouts, so air-gapped factories proxy too). Blobs
 * are verified local copies in the release cache (its size bound applies); a blob is served only
 * when a manifest fetched through the proxy declared it, so its size is known before any byte
 * moves (a registry never gets to stream an unbounded body into the cache).
 */
import { createReadStream } from 'node:fs';
import { FactoryError, isFactoryError } from '../../errors.js';
import type { CachedAsset } from '../../cache/asset-cache.js';
import { isValidDigest, parseManifest } from '../../oci/index.js';
import type { Components, ReleaseSource } from '../../release/release-source.js';

/** `siderolabs/<name>` → the release component it proxies. */
const PROXIED: Readonly<Record<string, keyof Components>> = {
  imager: 'imager',
  installer: 'installer',
  'installer-base': 'installerBase',
  extensions: 'extensionManifest',
  overlays: 'overlayManifest',
};

/** The namespace of proxied names. */
export const SOURCE_NAMESPACE = 'siderolabs';

/** A fetched source manifest. */
export interface SourceManifest {
  readonly bytes: Buffer;
  readonly digest: string;
  readonly mediaType: string;
}

/** Options of {@link SourceProxy}. */
export interface SourceProxyOptions {
  readonly release: ReleaseSource;
  /** Largest blob served (bytes). */
  readonly maxBlobBytes: number;
  /** Blob sizes remembered from served manifests (default 100 000). */
  readonly memory?: number;
}

/** Read-only proxy of release images. */
export class SourceProxy {
  readonly #o: SourceProxyOptions;
  /** `repository@digest` → size, from descriptors of served manifests (oldest forgotten first). */
  readonly #sizes = new Map<string, number>();

  constructor(options: SourceProxyOptions) {
    this.#o = options;
  }

  /** The component repository for `siderolabs/<name>`; NAME_UNKNOWN for anything else. */
  #repository(name: string): string {
    const component = Object.hasOwn(PROXIED, name) ? PROXIED[name] : undefined;
    if (component === undefined) {
      throw new FactoryError(
        'NAME_UNKNOWN',
        `repository ${SOURCE_NAMESPACE}/${name} is not proxied (only ${Object.keys(PROXIED).join(', ')})`,
      );
    }
    return this.#o.release.component(component);
  }

  #remember(repository: string, digest: string, size: number): void {
    const key = `${repository}@${digest}`;
    this.#sizes.delete(key);
    this.#sizes.set(key, size);
    const cap = this.#o.memory ?? 100_000;
    for (const k of this.#sizes.keys()) {
      if (this.#sizes.size <= cap) break;
      this.#sizes.delete(k);
    }
  }

  /** A manifest by tag or digest. */
  async manifest(name: string, reference: string, signal?: AbortSignal): Promise<SourceManifest> {
    const repository = this.#repository(name);
    let fetched;
    try {
      fetched = await this.#o.release.sourceManifest(repository, reference, signal);
    } catch (e) {
      if (isFactoryError(e, 'NOT_FOUND'))
        throw new FactoryError(
          'MANIFEST_UNKNOWN',
          `manifest ${SOURCE_NAMESPACE}/${name}:${reference} is unknown`,
          { cause: e },
        );
      throw e;
    }
    const doc = parseManifest(
      fetched.bytes,
      fetched.mediaType,
      `${SOURCE_NAMESPACE}/${name}@${fetched.digest}`,
    );
    if (doc.kind === 'manifest') {
      for (const d of [doc.config, ...doc.layers]) this.#remember(repository, d.digest, d.size);
    }
    return { bytes: fetched.bytes, digest: fetched.digest, mediaType: doc.mediaType };
  }

  /** A blob a served manifest declared, as an asset (ranges, HEAD). */
  async blob(name: string, digest: string, signal?: AbortSignal): Promise<CachedAsset> {
    const repository = this.#repository(name);
    const size = isValidDigest(digest) ? this.#sizes.get(`${repository}@${digest}`) : undefined;
    if (size === undefined) {
      throw new FactoryError(
        'BLOB_UNKNOWN',
        `blob ${digest} of ${SOURCE_NAMESPACE}/${name} is unknown (fetch a manifest that names it first)`,
      );
    }
    if (size > this.#o.maxBlobBytes) {
      throw new FactoryError(
        'BLOB_UNKNOWN',
        `blob ${digest} of ${SOURCE_NAMESPACE}/${name} is ${size} bytes, over the ${this.#o.maxBlobBytes}-byte limit`,
      );
    }
    let path: string;
    try {
      path = await this.#o.release.sourceBlob(repository, digest, size, signal);
    } catch (e) {
      if (isFactoryError(e, 'NOT_FOUND'))
        throw new FactoryError('BLOB_UNKNOWN', `blob ${digest} of ${SOURCE_NAMESPACE}/${name} is unknown`, {
          cause: e,
        });
      throw e;
    }
    return {
      key: digest,
      size,
      sha256: digest.slice(digest.indexOf(':') + 1),
      sha512: '',
      open: (r) =>
        Promise.resolve(
          createReadStream(path, { highWaterMark: 1 << 20, ...(r ? { start: r.start, end: r.end } : {}) }),
        ),
      localFile: () => Promise.resolve({ path, offset: 0 }),
    };
  }

  /** The tags of a proxied repository. */
  async tags(name: string, signal?: AbortSignal): Promise<string[]> {
    return this.#o.release.sourceTags(this.#repository(name), signal);
  }
}
