/**
 * ImageSource over OCI image layout directories: `<root>/<repo>/{oci-layout,index.json,blobs/}`,
 * one layout per repository, tags in `org.opencontainers.image.ref.name` annotations. This is the
 * air-gapped format: `image-factory import` and the fixture builder both produce it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { FactoryError } from '../errors.js';
import { digestOf, isValidDigest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { tempPathFor } from '../util/atomic-file.js';
import type { FetchedManifest, ImageSource } from './image-source.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

interface LayoutIndex {
  manifests?: { mediaType?: string; digest?: string; annotations?: Record<string, string> }[];
}

/** Reads release images from OCI layouts under one root directory. */
export class LayoutImageSource implements ImageSource {
  readonly description: string;
  readonly #root: string;

  readonly #maxManifestBytes: number;

  constructor(root: string, options: { maxManifestBytes?: number } = {}) {
    this.#root = resolve(root);
    this.#maxManifestBytes = options.maxManifestBytes ?? 4 * 1024 * 1024;
    // Messages reach clients: name the kind of source, not the server's file system path.
    this.description = 'OCI layout store';
  }

  #repoDir(repo: string): string {
    const dir = resolve(this.#root, repo);
    // Repository names come from config and catalogs; never let one escape the root.
    if (!dir.startsWith(this.#root + sep) || !/^[a-z0-9]+([._/-][a-z0-9]+)*$/.test(repo)) {
      throw new FactoryError('NOT_FOUND', `repository "${repo}" is not a valid name`);
    }
    return dir;
  }

  async #index(repo: string): Promise<LayoutIndex | undefined> {
    try {
      return JSON.parse(await readFile(join(this.#repoDir(repo), 'index.json'), 'utf8')) as LayoutIndex;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new FactoryError(
        'UPSTREAM_UNAVAILABLE',
        `${this.description}: ${repo}/index.json: ${(e as Error).message}`,
      );
    }
  }

  #blobPath(repo: string, digest: string): string {
    if (!isValidDigest(digest)) throw new FactoryError('NOT_FOUND', `invalid digest "${digest}"`);
    const [alg, hex] = digest.split(':') as [string, string];
    return join(this.#repoDir(repo), 'blobs', alg, hex);
  }

  async listTags(repo: string): Promise<string[]> {
    const index = await this.#index(repo);
    const tags = (index?.manifests ?? [])
      .map((m) => m.annotations?.[REF_NAME])
      .filter((t): t is string => !!t);
    return [...new Set(tags)];
  }

  async getManifest(repo: string, reference: string): Promise<FetchedManifest> {
    let digest = reference;
    let mediaType: string | undefined;
    if (!reference.includes(':')) {
      const entry = (await this.#index(repo))?.manifests?.find(
        (m) => m.annotations?.[REF_NAME] === reference,
      );
      if (!entry?.digest)
        throw new FactoryError('NOT_FOUND', `${this.description}: manifest ${repo}:${reference} not found`);
      digest = entry.digest;
      mediaType = entry.mediaType;
    }
    let bytes: Buffer;
    try {
      const path = this.#blobPath(repo, digest);
      const { size } = await stat(path);
      if (size > this.#maxManifestBytes) {
        throw new FactoryError(
          'MANIFEST_TOO_LARGE',
          `${this.description}: manifest ${repo}@${digest} is ${size} bytes, over the ${this.#maxManifestBytes}-byte limit`,
        );
      }
      bytes = await readFile(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new FactoryError('NOT_FOUND', `${this.description}: manifest ${repo}@${digest} not found`);
      }
      throw e;
    }
    const actual = digestOf(bytes, digest);
    if (actual !== digest) {
      throw new FactoryError(
        'DIGEST_MISMATCH',
        `${this.description}: manifest ${repo}@${digest} has digest ${actual}`,
      );
    }
    const parsed = parseManifest(bytes, mediaType, `${repo}@${digest}`);
    return { bytes, digest, mediaType: parsed.mediaType };
  }

  async fetchBlob(
    repo: string,
    digest: string,
    dest: string,
    signal?: AbortSignal,
    size?: number,
  ): Promise<void> {
    const src = this.#blobPath(repo, digest);
    const st = await stat(src).catch(() => {
      throw new FactoryError('NOT_FOUND', `${this.description}: blob ${repo}@${digest} not found`);
    });
    if (size !== undefined && st.size !== size) {
      throw new FactoryError(
        'DIGEST_MISMATCH',
        `${this.description}: blob ${repo}@${digest} is ${st.size} bytes, its descriptor says ${size}`,
      );
    }
    await mkdir(dirname(dest), { recursive: true });
    const tmp = tempPathFor(dest);
    const hash = createHash(digest.startsWith('sha512:') ? 'sha512' : 'sha256');
    try {
      const input = createReadStream(src);
      input.on('data', (chunk) => hash.update(chunk));
      await pipeline(input, createWriteStream(tmp, { flags: 'wx' }), { signal });
      const actual = `${digest.split(':')[0]}:${hash.digest('hex')}`;
      if (actual !== digest) {
        throw new FactoryError(
          'DIGEST_MISMATCH',
          `${this.description}: blob ${repo}@${digest} has digest ${actual}`,
        );
      }
      await rename(tmp, dest);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
}
