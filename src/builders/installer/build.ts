/**
 * The installer image as a `docker load` archive (talos-imager §7.2, the HEAD imager the factory
 * follows for every target version): the base installer's container config and its kept layers,
 * then a new artifacts layer with the boot files, and an overlay layer when there is an overlay;
 * OCI media types; `architecture`/`os` set.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { join } from 'node:path';
import { FactoryError } from '../../errors.js';
import { OCI_LAYER_TAR, OCI_LAYER_TAR_GZIP, OCI_LAYER_TAR_ZSTD } from '../../oci/media-types.js';
import type { Descriptor } from '../../oci/manifest.js';
import type { QuirkValues } from '../../profile/quirks.js';
import { type ArchiveLayerFile, writeDockerArchive } from '../formats/docker-archive.js';
import { buildArtifactsLayer, type LayerEntry, type LayerFileSource } from './artifacts-layer.js';

/** Created time when the base config has none: the epoch, for reproducible bytes. */
const EPOCH = '1970-01-01T00:00:00Z';

/**
 * Which base layers the installer keeps (indices). Talos < 1.10 installers carry their stock
 * artifacts as a second layer, which is dropped (only the first is kept); the unified
 * `installer-base` keeps all its layers — unless it has exactly two, the old shape (§7.1/§7.2).
 */
export function keptBaseLayers(
  count: number,
  quirks: Pick<QuirkValues, 'supportsUnifiedInstaller'>,
): number[] {
  if (count === 0) return [];
  if (!quirks.supportsUnifiedInstaller || count === 2) return [0];
  return Array.from({ length: count }, (_, i) => i);
}

/** The base installer image, pulled for one arch. */
export interface BaseInstaller {
  /** `repository@digest`, for messages. */
  readonly what: string;
  readonly config: Buffer;
  readonly layers: readonly { readonly path: string; readonly descriptor: Descriptor }[];
}

/** Inputs of {@link buildInstallerArchive}. */
export interface InstallerArchiveInput {
  readonly base: BaseInstaller;
  readonly arch: 'amd64' | 'arm64';
  readonly quirks: Pick<QuirkValues, 'supportsUnifiedInstaller'>;
  /** Files of the artifacts layer (paths inside the image, e.g. `usr/install/amd64/vmlinuz`). */
  readonly artifacts: readonly LayerFileSource[];
  /** Members of the overlay layer (a third layer), when the schematic has an overlay. */
  readonly overlay?: readonly LayerEntry[];
  readonly repoTags: readonly string[];
  readonly workDir: string;
  readonly signal: AbortSignal;
}

type Json = Record<string, unknown>;

function baseError(what: string, reason: string): FactoryError {
  return new FactoryError('UPSTREAM_UNAVAILABLE', `base installer ${what}: ${reason}`);
}

/** OCI media type for a base layer (Docker's gzip layer is the same bytes as OCI tar+gzip). */
function ociLayerType(what: string, mediaType: string): string {
  if (mediaType.endsWith('.tar.gzip') || mediaType.endsWith('tar+gzip')) return OCI_LAYER_TAR_GZIP;
  if (mediaType.endsWith('tar+zstd')) return OCI_LAYER_TAR_ZSTD;
  if (mediaType.endsWith('.tar') || mediaType === OCI_LAYER_TAR) return OCI_LAYER_TAR;
  throw baseError(what, `layer media type "${mediaType}" is not a tar layer`);
}

function parseBaseConfig(base: BaseInstaller): { config: Json; diffIds: string[]; created: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(base.config.toString('utf8'));
  } catch {
    throw baseError(base.what, 'config is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw baseError(base.what, 'config is not an object');
  const d = doc as Json;
  const rootfs = d.rootfs as Json | undefined;
  const diffIds = rootfs?.diff_ids;
  if (
    !Array.isArray(diffIds) ||
    !diffIds.every((x): x is string => typeof x === 'string' && /^sha256:[a-f0-9]{64}$/.test(x))
  )
    throw baseError(base.what, 'config has no rootfs.diff_ids');
  if (diffIds.length !== base.layers.length)
    throw baseError(base.what, `config lists ${diffIds.length} diff_ids for ${base.layers.length} layers`);
  const config = d.config;
  return {
    config: typeof config === 'object' && config !== null && !Array.isArray(config) ? (config as Json) : {},
    diffIds,
    created: typeof d.created === 'string' ? d.created : EPOCH,
  };
}

/** Builds the archive inside `workDir`; returns its path. */
export async function buildInstallerArchive(o: InstallerArchiveInput): Promise<string> {
  await mkdir(o.workDir, { recursive: true });
  const base = parseBaseConfig(o.base);
  const kept = keptBaseLayers(o.base.layers.length, o.quirks);
  if (kept.length === 0) throw baseError(o.base.what, 'image has no layers');
  const layers: ArchiveLayerFile[] = kept.map((i) => {
    const l = o.base.layers[i]!;
    return {
      path: l.path,
      digest: l.descriptor.digest,
      size: l.descriptor.size,
      mediaType: ociLayerType(o.base.what, l.descriptor.mediaType),
    };
  });
  const built = [await buildArtifactsLayer(o.artifacts, join(o.workDir, 'artifacts.tar.gz'), o.signal)];
  if (o.overlay)
    built.push(await buildArtifactsLayer(o.overlay, join(o.workDir, 'overlay.tar.gz'), o.signal));
  for (const l of built)
    layers.push({ path: l.path, digest: l.digest, size: l.size, mediaType: OCI_LAYER_TAR_GZIP });
  // Field order fixed here, so the config (and with it every digest above it) is reproducible.
  const config = Buffer.from(
    JSON.stringify({
      architecture: o.arch,
      created: base.created,
      os: 'linux',
      rootfs: {
        type: 'layers',
        diff_ids: [...kept.map((i) => base.diffIds[i]!), ...built.map((l) => l.diffId)],
      },
      config: base.config,
    }),
  );
  const output = join(o.workDir, `installer-${o.arch}.tar`);
  const out = createWriteStream(output, { flags: 'wx' });
  try {
    await writeDockerArchive(out, { config, layers, repoTags: o.repoTags });
  } catch (e) {
    out.destroy();
    throw e;
  }
  out.end();
  await finished(out);
  return output;
}
