/**
 * Scale mode (image-factory §5.3/§6.3): installer images in an external registry shared by every
 * replica. Publishing pushes blobs, per-arch manifests and the index by digest, then the signature,
 * reads the signature back (exponential retry up to 30 s, for eventually consistent registries),
 * and only then pushes the tag. Clients get `307` redirects into the registry.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FactoryError, isFactoryError } from '../../errors.js';
import { type OciClient, type RepositoryRef, signatureTag } from '../../oci/index.js';
import { type InstallerBacking, type Publication, rangeOf, type RegistryAnswer } from './backing.js';

/** Options of {@link ExternalBacking}. */
export interface ExternalBackingOptions {
  readonly client: OciClient;
  readonly registry: string;
  /** Path prefix of the repositories (`<namespace>/<image>/<schematic>`). */
  readonly namespace: string;
  /** Plain HTTP (redirects say `http://`). */
  readonly insecure: boolean;
  /** Scratch space for layer uploads. */
  readonly scratchDir: string;
}

/** Layers at least this big are uploaded in chunks. */
const CHUNKED_FROM = 8 << 20;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function notFoundAsUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isFactoryError(e, 'NOT_FOUND')) return undefined;
    throw e;
  }
}

/** An external registry as the backing of the registry frontend. */
export class ExternalBacking implements InstallerBacking {
  readonly #o: ExternalBackingOptions;

  constructor(options: ExternalBackingOptions) {
    this.#o = options;
  }

  #target(repo: string): RepositoryRef {
    return {
      registry: this.#o.registry,
      repository: this.#o.namespace ? `${this.#o.namespace}/${repo}` : repo,
    };
  }

  #redirect(repo: string, resource: 'manifests' | 'blobs', reference: string): RegistryAnswer {
    const t = this.#target(repo);
    return {
      kind: 'redirect',
      location: `${this.#o.insecure ? 'http' : 'https'}://${t.registry}/v2/${t.repository}/${resource}/${reference}`,
    };
  }

  async readTag(
    repo: string,
    tag: string,
    signal?: AbortSignal,
  ): Promise<{ bytes: Buffer; digest: string } | undefined> {
    const m = await notFoundAsUndefined(
      this.#o.client.getManifest(this.#target(repo), tag, signal ? { signal } : {}),
    );
    return m && { bytes: m.bytes, digest: m.digest };
  }

  readBlob(
    repo: string,
    digest: string,
    maxBytes: number,
    signal?: AbortSignal,
  ): Promise<Buffer | undefined> {
    return notFoundAsUndefined(
      this.#o.client.getBlobBytes(this.#target(repo), digest, { maxBytes, ...(signal ? { signal } : {}) }),
    );
  }

  identity(repo: string): string {
    const t = this.#target(repo);
    return `${t.registry}/${t.repository}`;
  }

  async publish(p: Publication): Promise<void> {
    const { client } = this.#o;
    const target = this.#target(p.repo);
    await mkdir(this.#o.scratchDir, { recursive: true });
    const tmp = await mkdtemp(join(this.#o.scratchDir, 'push-'));
    try {
      for (const a of p.arches) {
        for (const l of a.archive.layers) {
          if (await client.blobExists(target, l.digest)) continue;
          const file = join(tmp, l.digest.slice('sha256:'.length));
          await pipeline(await rangeOf(a.asset, l.offset, l.size, l.digest).open(), createWriteStream(file));
          await client.pushBlob(
            target,
            { path: file },
            { digest: l.digest, chunked: l.size >= CHUNKED_FROM },
          );
          await rm(file, { force: true });
        }
        await client.pushBlob(target, a.archive.config.bytes);
        await client.pushManifest(target, a.manifest.digest, a.manifest.bytes, a.manifest.mediaType);
      }
      await client.pushManifest(target, p.index.digest, p.index.bytes, p.index.mediaType);
      await client.pushBlob(target, p.signature.config);
      await client.pushBlob(target, p.signature.payload);
      const sig = p.signature.manifest;
      await client.pushManifest(target, signatureTag(p.index.digest), sig.bytes, sig.mediaType);
      // Read-after-write: the tag is promoted only once the signature reads back valid.
      let delay = 250;
      for (let waited = 0; !(await p.verify()); waited += delay, delay *= 2) {
        if (waited >= 30_000) {
          throw new FactoryError(
            'UPSTREAM_UNAVAILABLE',
            `registry ${target.registry}: the signature of ${target.repository}@${p.index.digest} does not read back valid`,
          );
        }
        await sleep(delay);
      }
      await client.pushManifest(target, p.version, p.index.bytes, p.index.mediaType);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  answerIndex(repo: string, digest: string): RegistryAnswer {
    return this.#redirect(repo, 'manifests', digest);
  }

  manifest(repo: string, reference: string): Promise<RegistryAnswer> {
    return Promise.resolve(this.#redirect(repo, 'manifests', reference));
  }

  blob(repo: string, digest: string): Promise<RegistryAnswer> {
    // Passed through unchecked, as upstream does: the registry answers for its own content.
    return Promise.resolve(this.#redirect(repo, 'blobs', digest));
  }
}
