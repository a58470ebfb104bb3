/**
 * Small texts (catalog contents) kept in the asset cache under names that pin their content, e.g.
 * `siderolabs/extensions@sha256:…`. With the registry cache every replica shares them, so a fresh
 * replica resolves extension names to image digests without downloading the catalog image.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AssetCache } from './asset-cache.js';

/** Texts stored as cache entries; every read is checked against the entry's sha256. */
export class AssetCacheDocuments {
  readonly #cache: AssetCache;
  readonly #tmpDir: string;

  constructor(cache: AssetCache, tmpDir: string) {
    this.#cache = cache;
    this.#tmpDir = tmpDir;
  }

  /** The text kept under `name`, or undefined (absent, or its bytes do not match). */
  async get(name: string): Promise<string | undefined> {
    const key = documentKey(name);
    const entry = await this.#cache.get(key);
    if (!entry) return undefined;
    const chunks: Buffer[] = [];
    for await (const c of await entry.open()) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    if (createHash('sha256').update(bytes).digest('hex') !== entry.sha256) {
      await this.#cache.invalidate?.(key);
      return undefined;
    }
    return bytes.toString('utf8');
  }

  /** Keeps `text` under `name`. */
  async put(name: string, text: string): Promise<void> {
    await mkdir(this.#tmpDir, { recursive: true });
    const tmp = join(this.#tmpDir, `document-${randomUUID()}`);
    try {
      await writeFile(tmp, text);
      await this.#cache.put(documentKey(name), tmp);
    } finally {
      await rm(tmp, { force: true });
    }
  }
}

/** The cache key of a document (never equal to an asset's or an intermediate's). */
function documentKey(name: string): string {
  return createHash('sha256')
    .update(JSON.stringify({ document: name }))
    .digest('hex');
}
