/**
 * The registry frontend's own store (local mode), under `<dataDir>/registry/`: manifests and small
 * blobs (configs, signature payloads) content-addressed by sha256, layer *locators* (which cached
 * installer asset holds a layer's bytes, at which offset), and tags. Layers are never copied: the
 * installer archive in the asset cache is their only copy, bounded by the cache's own limit.
 *
 * Every write is atomic (temp file + rename); every read is verified — content whose sha256 is not
 * its name, or a record that does not parse, is logged, removed and reported missing.
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidDigest } from '../../oci/digest.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { type Logger, silentLogger } from '../../util/logger.js';

/** Where a layer's bytes are: a range of a cached installer asset, and how to rebuild that asset. */
export interface LayerLocator {
  /** Cache key of the installer asset holding the layer. */
  readonly key: string;
  readonly offset: number;
  readonly size: number;
  /** The request that built the asset (to rebuild it after eviction). */
  readonly image: string;
  readonly schematic: string;
  readonly version: string;
  readonly arch: 'amd64' | 'arm64';
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const REPO = /^[A-Za-z0-9-]+\/[a-f0-9]{64}$/;

function hexOf(digest: string): string | undefined {
  return isValidDigest(digest) && digest.startsWith('sha256:') ? digest.slice(7) : undefined;
}

function isLocator(v: unknown): v is LayerLocator {
  const l = v as Partial<LayerLocator>;
  return (
    typeof l === 'object' &&
    l !== null &&
    typeof l.key === 'string' &&
    /^[a-f0-9]{64}$/.test(l.key) &&
    Number.isSafeInteger(l.offset) &&
    (l.offset ?? -1) >= 0 &&
    Number.isSafeInteger(l.size) &&
    (l.size ?? -1) >= 0 &&
    typeof l.image === 'string' &&
    typeof l.schematic === 'string' &&
    typeof l.version === 'string' &&
    (l.arch === 'amd64' || l.arch === 'arm64')
  );
}

/** The filesystem store of the local registry. */
export class RegistryStore {
  readonly #dir: string;
  readonly #log: Logger;
  readonly #maxBytes: number;

  /** `maxBytes` caps what is read back into memory (manifests and small blobs). */
  constructor(dir: string, options: { maxBytes: number; log?: Logger }) {
    this.#dir = dir;
    this.#maxBytes = options.maxBytes;
    this.#log = options.log ?? silentLogger;
  }

  async #putContent(kind: 'manifests' | 'blobs', bytes: Buffer): Promise<string> {
    const hex = createHash('sha256').update(bytes).digest('hex');
    await writeFileAtomic(join(this.#dir, kind, hex), bytes);
    return `sha256:${hex}`;
  }

  async #getContent(kind: 'manifests' | 'blobs', digest: string): Promise<Buffer | undefined> {
    const hex = hexOf(digest);
    if (hex === undefined) return undefined;
    const path = join(this.#dir, kind, hex);
    const bytes = await readFile(path).catch(() => undefined);
    if (bytes === undefined) return undefined;
    if (bytes.length > this.#maxBytes || createHash('sha256').update(bytes).digest('hex') !== hex) {
      this.#log.error({ kind, digest }, 'registry store content failed verification; removed');
      await rm(path, { force: true });
      return undefined;
    }
    return bytes;
  }

  /** Stores manifest bytes; returns their digest. */
  putManifest(bytes: Buffer): Promise<string> {
    return this.#putContent('manifests', bytes);
  }

  /** Verified manifest bytes, or undefined. */
  getManifest(digest: string): Promise<Buffer | undefined> {
    return this.#getContent('manifests', digest);
  }

  /** Stores a small blob (config, signature payload); returns its digest. */
  putBlob(bytes: Buffer): Promise<string> {
    return this.#putContent('blobs', bytes);
  }

  /** Verified small-blob bytes, or undefined. */
  getBlob(digest: string): Promise<Buffer | undefined> {
    return this.#getContent('blobs', digest);
  }

  /** Records where a layer's bytes are. */
  async putLocator(digest: string, locator: LayerLocator): Promise<void> {
    const hex = hexOf(digest);
    if (hex === undefined) throw new Error(`invalid layer digest ${digest}`);
    await writeFileAtomic(join(this.#dir, 'layers', `${hex}.json`), JSON.stringify(locator));
  }

  /** Where a layer's bytes are, or undefined. */
  async getLocator(digest: string): Promise<LayerLocator | undefined> {
    const hex = hexOf(digest);
    if (hex === undefined) return undefined;
    const path = join(this.#dir, 'layers', `${hex}.json`);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (isLocator(parsed)) return parsed;
    } catch {
      // fall through: unusable record
    }
    this.#log.error({ digest }, 'registry store layer record unusable; removed');
    await rm(path, { force: true });
    return undefined;
  }

  #tagPath(repo: string, tag: string): string | undefined {
    return REPO.test(repo) && TAG.test(tag) ? join(this.#dir, 'tags', repo, tag) : undefined;
  }

  /** Points `repo:tag` at `digest` (atomically replacing what it pointed at). */
  async setTag(repo: string, tag: string, digest: string): Promise<void> {
    const path = this.#tagPath(repo, tag);
    if (path === undefined || !isValidDigest(digest)) throw new Error(`invalid tag ${repo}:${tag}`);
    await writeFileAtomic(path, `${digest}\n`);
  }

  /** The digest `repo:tag` points at, or undefined. */
  async getTag(repo: string, tag: string): Promise<string | undefined> {
    const path = this.#tagPath(repo, tag);
    if (path === undefined) return undefined;
    const text = (await readFile(path, 'utf8').catch(() => undefined))?.trim();
    return text !== undefined && isValidDigest(text) ? text : undefined;
  }
}
