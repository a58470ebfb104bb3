/**
 * The installer's layers of its own (talos-imager §7, errata §7): a tar sorted by path whose
 * headers hold just name, size and mode (uid, gid and mtime zero), gzip-compressed. The artifacts
 * layer has regular files only, mode zero; the overlay layer has directories and real permissions. Node's gzip header has mtime 0 and no file name, so the same
 * inputs give the same layer digest in every process (not Go's bytes: errata says those cannot be
 * reproduced with zlib, and nothing needs them).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { writeTo } from '../formats/sink.js';
import { TarStreamWriter } from '../formats/tar-stream.js';

/** One file of the layer: its path inside the image and a way to stream its bytes. */
export interface LayerFileSource {
  readonly name: string;
  readonly size: number;
  /** Permission bits (default 0, as the boot artifacts have). */
  readonly mode?: number;
  open(): Promise<AsyncIterable<Uint8Array>>;
}

/** A directory entry (the overlay layer has them, with their permissions). */
export interface LayerDirectory {
  readonly name: string;
  readonly directory: true;
  readonly mode: number;
}

/** A member of a layer. */
export type LayerEntry = LayerFileSource | LayerDirectory;

/** The written layer: compressed digest and size, and the uncompressed digest (config diff_id). */
export interface BuiltLayer {
  readonly path: string;
  readonly digest: string;
  readonly size: number;
  readonly diffId: string;
}

/** Writes the layer to `output` (which must not exist). */
export async function buildArtifactsLayer(
  files: readonly LayerEntry[],
  output: string,
  signal?: AbortSignal,
): Promise<BuiltLayer> {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const diff = createHash('sha256');
  const compressed = createHash('sha256');
  let size = 0;
  const gzip = createGzip({ level: 6 });
  const written = pipeline(
    gzip,
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        compressed.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(output, { flags: 'wx' }),
    signal ? { signal } : {},
  );
  try {
    const tar = new TarStreamWriter(async (chunk) => {
      diff.update(chunk);
      await writeTo(gzip, chunk);
    });
    for (const f of sorted) {
      if ('directory' in f) await tar.addDirectory(f.name, f.mode);
      else await tar.addFile({ name: f.name, size: f.size, mode: f.mode ?? 0, content: await f.open() });
    }
    await tar.finish();
    gzip.end();
    await written;
  } catch (e) {
    gzip.destroy(e instanceof Error ? e : new Error(String(e)));
    await written.catch(() => undefined);
    throw e;
  }
  return {
    path: output,
    digest: `sha256:${compressed.digest('hex')}`,
    size,
    diffId: `sha256:${diff.digest('hex')}`,
  };
}
