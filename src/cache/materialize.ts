/** Copies a cached asset's bytes into a file of a build's own (builders work on plain files). */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { CachedAsset } from './asset-cache.js';

/** Writes `asset` to `dest` (created or truncated); honours `signal`. */
export async function materializeAsset(
  asset: CachedAsset,
  dest: string,
  signal?: AbortSignal,
): Promise<string> {
  await pipeline(await asset.open(), createWriteStream(dest), signal ? { signal } : {});
  return dest;
}
