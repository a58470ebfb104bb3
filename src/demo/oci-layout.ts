/**
 * Writes OCI image layouts (one directory per repository: `oci-layout`, `index.json`, `blobs/sha256/`)
 * holding multi-arch images, so skopeo can push them with digests preserved.
 */
import { copyFile, link, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { FactoryError } from '../errors.js';
import { sha256Hex } from './hash.js';
import type { LayerFile } from './tar-layer.js';

/** Which family of media types an image uses (Talos 1.5-era images were pushed as Docker schema 2). */
export type MediaFlavor = 'oci' | 'docker';

/** Media types per flavor. */
export const MEDIA_TYPES = {
  oci: {
    index: 'application/vnd.oci.image.index.v1+json',
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  docker: {
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
} as const;

/** The annotation that names a tag in an OCI layout's index.json. */
export const REF_NAME = 'org.opencontainers.image.ref.name';

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

/** Container config carried by an image (the subset the fixtures use). */
export interface ContainerConfig {
  Entrypoint?: string[];
  Env?: string[];
  Labels?: Record<string, string>;
  WorkingDir?: string;
}

/** One platform-specific image to add to a layout. */
export interface ImageSpec {
  arch: string;
  layers: LayerFile[];
  config?: ContainerConfig;
  flavor?: MediaFlavor;
}

/** Builds one repository's OCI layout; call {@link OciLayoutWriter.save} at the end. */
export class OciLayoutWriter {
  readonly dir: string;
  private readonly tags = new Map<string, Descriptor>();

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Loads an existing index.json (to add tags) or creates the layout skeleton. */
  async open(): Promise<this> {
    await mkdir(path.join(this.dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(path.join(this.dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    const indexFile = path.join(this.dir, 'index.json');
    if (existsSync(indexFile)) {
      const index = JSON.parse(await readFile(indexFile, 'utf8')) as { manifests: Descriptor[] };
      for (const d of index.manifests) {
        const tag = d.annotations?.[REF_NAME];
        if (tag !== undefined) this.tags.set(tag, d);
      }
    }
    return this;
  }

  /** Stores bytes as a blob (idempotent) and returns its descriptor. */
  async putBytes(bytes: Buffer, mediaType: string): Promise<Descriptor> {
    const hex = sha256Hex(bytes);
    const file = this.blobPath(hex);
    if (!existsSync(file)) await writeFile(file, bytes);
    return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
  }

  /** Stores a layer file as a blob (hard link when possible: layers can be tens of MB). */
  async putLayer(layer: LayerFile, mediaType: string): Promise<Descriptor> {
    const file = this.blobPath(layer.digest.slice('sha256:'.length));
    if (!existsSync(file)) {
      await link(layer.file, file).catch(() => copyFile(layer.file, file));
    }
    return { mediaType, digest: layer.digest, size: layer.size };
  }

  /** Writes config + manifest for one platform image; returns the manifest descriptor with its platform. */
  async putImage(spec: ImageSpec): Promise<Descriptor> {
    const mt = MEDIA_TYPES[spec.flavor ?? 'oci'];
    const layers: Descriptor[] = [];
    for (const l of spec.layers) layers.push(await this.putLayer(l, mt.layer));
    const config = {
      architecture: spec.arch,
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      config: spec.config ?? {},
      rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => l.diffId) },
    };
    const configDesc = await this.putBytes(Buffer.from(JSON.stringify(config)), mt.config);
    const manifest = { schemaVersion: 2, mediaType: mt.manifest, config: configDesc, layers };
    const desc = await this.putBytes(Buffer.from(JSON.stringify(manifest)), mt.manifest);
    return { ...desc, platform: { architecture: spec.arch, os: 'linux' } };
  }

  /** Writes an image index over platform manifests; returns its descriptor. */
  async putIndex(manifests: Descriptor[], flavor: MediaFlavor = 'oci'): Promise<Descriptor> {
    const mt = MEDIA_TYPES[flavor];
    const index = { schemaVersion: 2, mediaType: mt.index, manifests };
    return this.putBytes(Buffer.from(JSON.stringify(index)), mt.index);
  }

  /** Builds one image per platform and an index over them, and tags the index; returns both levels. */
  async putMultiArch(
    tag: string,
    images: ImageSpec[],
    flavor: MediaFlavor = 'oci',
  ): Promise<{ index: Descriptor; manifests: Descriptor[] }> {
    const manifests: Descriptor[] = [];
    for (const img of images) manifests.push(await this.putImage({ ...img, flavor }));
    const index = await this.putIndex(manifests, flavor);
    this.tag(tag, index);
    return { index, manifests };
  }

  /** Points `tag` at a descriptor (replacing an existing tag of that name). */
  tag(tag: string, desc: Descriptor): void {
    if (!/^[\w][\w.-]{0,127}$/.test(tag))
      throw new FactoryError('INTERNAL', `fixture tag "${tag}" is not a valid OCI tag`);
    // index.json entries carry only the ref-name annotation, not the platform of a child manifest.
    this.tags.set(tag, {
      mediaType: desc.mediaType,
      digest: desc.digest,
      size: desc.size,
      annotations: { [REF_NAME]: tag },
    });
  }

  /** Writes index.json with every tag, sorted by tag for stable bytes. */
  async save(): Promise<void> {
    const manifests = [...this.tags.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, d]) => d);
    const index = { schemaVersion: 2, mediaType: MEDIA_TYPES.oci.index, manifests };
    await writeFile(path.join(this.dir, 'index.json'), JSON.stringify(index));
  }

  private blobPath(hex: string): string {
    return path.join(this.dir, 'blobs', 'sha256', hex);
  }
}
