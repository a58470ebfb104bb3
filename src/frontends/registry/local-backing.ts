/**
 * Local mode: installer images in the factory's own {@link RegistryStore}, served directly.
 * Layers are records pointing into the cached installer archives; everything else is stored bytes.
 */
import { FactoryError } from '../../errors.js';
import { isValidDigest, parseManifest, signatureTag } from '../../oci/index.js';
import {
  bytesAsset,
  type InstallerBacking,
  type LayerResolver,
  type Publication,
  rangeOf,
  type RegistryAnswer,
} from './backing.js';
import type { RegistryStore } from './store.js';

/** The factory's own store as the backing of the registry frontend. */
export class LocalBacking implements InstallerBacking {
  readonly #store: RegistryStore;
  readonly #host: string;

  /** `identityHost` is the `host[:port]` clients pull from. */
  constructor(store: RegistryStore, identityHost: string) {
    this.#store = store;
    this.#host = identityHost;
  }

  async readTag(repo: string, tag: string): Promise<{ bytes: Buffer; digest: string } | undefined> {
    const digest = await this.#store.getTag(repo, tag);
    const bytes = digest === undefined ? undefined : await this.#store.getManifest(digest);
    return digest === undefined || bytes === undefined ? undefined : { bytes, digest };
  }

  readBlob(_repo: string, digest: string): Promise<Buffer | undefined> {
    return this.#store.getBlob(digest);
  }

  identity(repo: string): string {
    return `${this.#host}/${repo}`;
  }

  async publish(p: Publication): Promise<void> {
    const store = this.#store;
    for (const a of p.arches) {
      await store.putBlob(a.archive.config.bytes);
      for (const l of a.archive.layers) {
        await store.putLocator(l.digest, {
          key: a.key,
          offset: l.offset,
          size: l.size,
          image: p.image,
          schematic: p.schematic,
          version: p.version,
          arch: a.arch,
        });
      }
      await store.putManifest(a.manifest.bytes);
    }
    await store.putManifest(p.index.bytes);
    await store.putBlob(p.signature.config);
    await store.putBlob(p.signature.payload);
    await store.putManifest(p.signature.manifest.bytes);
    await store.setTag(p.repo, signatureTag(p.index.digest), p.signature.manifest.digest);
    await store.setTag(p.repo, p.version, p.index.digest);
  }

  answerIndex(_repo: string, digest: string, bytes: Buffer, mediaType: string): RegistryAnswer {
    return { kind: 'manifest', bytes, digest, mediaType };
  }

  async manifest(repo: string, reference: string, what: string): Promise<RegistryAnswer> {
    const digest = isValidDigest(reference) ? reference : await this.#store.getTag(repo, reference);
    const bytes = digest === undefined ? undefined : await this.#store.getManifest(digest);
    if (digest === undefined || bytes === undefined)
      throw new FactoryError('MANIFEST_UNKNOWN', `${what} is unknown`);
    return { kind: 'manifest', bytes, digest, mediaType: parseManifest(bytes, undefined, what).mediaType };
  }

  async blob(_repo: string, digest: string, what: string, resolve: LayerResolver): Promise<RegistryAnswer> {
    const unknown = () => new FactoryError('BLOB_UNKNOWN', `${what} is unknown`);
    if (!isValidDigest(digest)) throw unknown();
    const small = await this.#store.getBlob(digest);
    if (small) return { kind: 'blob', digest, asset: bytesAsset(small, digest) };
    const loc = await this.#store.getLocator(digest);
    if (!loc) throw unknown();
    const asset = await resolve(loc);
    if (loc.offset + loc.size > asset.size) throw unknown();
    return { kind: 'blob', digest, asset: rangeOf(asset, loc.offset, loc.size, digest) };
  }
}
