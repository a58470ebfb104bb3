/**
 * `docker load` archives (the go-containerregistry `tarball.Write` layout, talos-imager errata §7):
 * the config as `sha256:<hex>`, each layer blob as `<hex>.tar.gz` (compressed digest), then
 * `manifest.json` = `[{"Config","RepoTags","Layers"}]`; regular files with mode 0644, no
 * directories. The reader walks such an archive once, verifies every member against the digest in
 * its name, and reports where each layer's bytes sit so they can be served as registry blobs
 * straight out of the archive.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { FactoryError } from '../../errors.js';
import { OCI_LAYER_TAR, OCI_LAYER_TAR_GZIP, OCI_LAYER_TAR_ZSTD } from '../../oci/media-types.js';
import type { ByteSink } from './sink.js';
import { readTar } from './tar-reader.js';
import { TarStreamWriter } from './tar-stream.js';

/** One layer blob on disk, as it goes into the archive. */
export interface ArchiveLayerFile {
  readonly path: string;
  /** `sha256:<hex>` of the file's bytes. */
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
}

/** What {@link writeDockerArchive} writes. */
export interface DockerArchiveSpec {
  readonly config: Buffer;
  readonly layers: readonly ArchiveLayerFile[];
  /** `RepoTags` of manifest.json (what `docker load` names the image). */
  readonly repoTags: readonly string[];
}

const HEX = (digest: string): string => digest.slice('sha256:'.length);

/** Member file name of a layer blob: the compressed digest plus the compression's extension. */
function layerName(layer: { digest: string; mediaType: string }): string {
  const ext = layer.mediaType.endsWith('+zstd')
    ? '.tar.zst'
    : layer.mediaType.endsWith('gzip')
      ? '.tar.gz'
      : '.tar';
  return `${HEX(layer.digest)}${ext}`;
}

/** Writes the archive to `sink`. */
export async function writeDockerArchive(sink: ByteSink, spec: DockerArchiveSpec): Promise<void> {
  const tar = new TarStreamWriter(sink);
  const configName = `sha256:${createHash('sha256').update(spec.config).digest('hex')}`;
  await tar.addFile({ name: configName, size: spec.config.length, mode: 0o644, content: spec.config });
  for (const layer of spec.layers) {
    await tar.addFile({
      name: layerName(layer),
      size: layer.size,
      mode: 0o644,
      content: createReadStream(layer.path, { highWaterMark: 1 << 20 }),
    });
  }
  const manifest = Buffer.from(
    JSON.stringify([{ Config: configName, RepoTags: spec.repoTags, Layers: spec.layers.map(layerName) }]),
  );
  await tar.addFile({ name: 'manifest.json', size: manifest.length, mode: 0o644, content: manifest });
  await tar.finish();
}

/** A layer blob found in an archive: digest, size, where its bytes start, media type by content. */
export interface ArchiveLayer {
  readonly digest: string;
  readonly size: number;
  /** Offset of the blob's first byte in the archive. */
  readonly offset: number;
  readonly mediaType: string;
}

/** The image an archive holds, every member verified. */
export interface ArchiveImage {
  readonly config: { readonly bytes: Buffer; readonly digest: string };
  readonly layers: readonly ArchiveLayer[];
  readonly repoTags: readonly string[];
}

/** Caps applied while reading (the archive is our own, but nothing is read unbounded). */
export interface ArchiveLimits {
  readonly maxConfigBytes: number;
  readonly maxLayerBytes: number;
}

const MAX_MANIFEST_JSON = 1 << 20;

function bad(what: string, reason: string): FactoryError {
  return new FactoryError('BUILD_FAILED', `${what}: not a valid docker archive: ${reason}`);
}

function mediaTypeByMagic(head: Buffer): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return OCI_LAYER_TAR_GZIP;
  if (head.readUInt32LE(0) === 0xfd2fb528) return OCI_LAYER_TAR_ZSTD;
  return OCI_LAYER_TAR;
}

interface Member {
  digest: string;
  size: number;
  offset: number;
  head: Buffer;
  bytes?: Buffer;
}

/** Reads and verifies a docker archive streamed from `source`; `what` names it in errors. */
export async function readDockerArchive(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  limits: ArchiveLimits,
  what: string,
): Promise<ArchiveImage> {
  const members = new Map<string, Member>();
  for await (const entry of readTar(source)) {
    if (entry.type !== 'file') throw bad(what, `member ${JSON.stringify(entry.path)} is not a regular file`);
    if (members.has(entry.path)) throw bad(what, `member ${JSON.stringify(entry.path)} appears twice`);
    const keep =
      entry.path === 'manifest.json'
        ? MAX_MANIFEST_JSON
        : entry.path.startsWith('sha256:')
          ? limits.maxConfigBytes
          : 0;
    if (keep > 0 && entry.size > keep) throw bad(what, `${entry.path} is ${entry.size} bytes, over ${keep}`);
    if (keep === 0 && entry.size > limits.maxLayerBytes)
      throw bad(
        what,
        `${entry.path} is ${entry.size} bytes, over the ${limits.maxLayerBytes}-byte blob limit`,
      );
    const hash = createHash('sha256');
    const kept: Buffer[] = [];
    let head = Buffer.alloc(0);
    for await (const chunk of entry.content()) {
      hash.update(chunk);
      if (keep > 0) kept.push(chunk);
      if (head.length < 4) head = Buffer.concat([head, chunk.subarray(0, 4 - head.length)]);
    }
    members.set(entry.path, {
      digest: `sha256:${hash.digest('hex')}`,
      size: entry.size,
      offset: entry.offset + 512,
      head: Buffer.concat([head, Buffer.alloc(4)]).subarray(0, 4),
      ...(keep > 0 ? { bytes: Buffer.concat(kept) } : {}),
    });
  }
  const manifestMember = members.get('manifest.json');
  if (!manifestMember?.bytes) throw bad(what, 'no manifest.json');
  let doc: unknown;
  try {
    doc = JSON.parse(manifestMember.bytes.toString('utf8'));
  } catch {
    throw bad(what, 'manifest.json is not JSON');
  }
  const entry = Array.isArray(doc) && doc.length === 1 ? (doc[0] as Record<string, unknown>) : undefined;
  const configName = entry?.Config;
  const layerNames = entry?.Layers;
  const repoTags = entry?.RepoTags ?? [];
  if (
    typeof configName !== 'string' ||
    !Array.isArray(layerNames) ||
    !layerNames.every((l): l is string => typeof l === 'string') ||
    !Array.isArray(repoTags) ||
    !repoTags.every((t): t is string => typeof t === 'string')
  ) {
    throw bad(what, 'manifest.json must hold exactly one {Config, RepoTags, Layers} entry');
  }
  const config = members.get(configName);
  if (!config?.bytes) throw bad(what, `config ${configName} is missing`);
  if (config.digest !== configName) throw bad(what, `config ${configName} hashes to ${config.digest}`);
  const layers = layerNames.map((name): ArchiveLayer => {
    const m = members.get(name);
    if (!m) throw bad(what, `layer ${name} is missing`);
    const named = `sha256:${name.replace(/\.tar(\.gz|\.zst)?$/, '')}`;
    if (m.digest !== named) throw bad(what, `layer ${name} hashes to ${m.digest}`);
    return { digest: m.digest, size: m.size, offset: m.offset, mediaType: mediaTypeByMagic(m.head) };
  });
  return { config: { bytes: config.bytes, digest: config.digest }, layers, repoTags };
}
