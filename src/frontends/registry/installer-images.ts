/**
 * Installer images behind the registry frontend (image-factory §5.2/§5.3): a tag of
 * `<image>/<schematic>` is the installer asset of both arches as one signed OCI index.
 *
 * Flow of a manifest request by version: plan both arches' installer assets (keys only, no build);
 * find the tag in the backing store and reuse it when its index names exactly those assets and its
 * cosign signature verifies with the factory key; otherwise build — single-flight per
 * (image, schematic, version), detached from the client, both arches through the AssetService (so
 * queued and bounded like every build) — then publish blobs, per-arch manifests, the index and its
 * signature, and only then the tag: a tag never points at a half index.
 *
 * Backing store: the factory's own (local mode: {@link RegistryStore}, layers served straight out
 * of the cached installer archives), or an external registry (scale mode: pushed there by digest,
 * then tagged; clients get `307` redirects, so replicas share one registry and one build).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AssetService, PlannedAsset } from '../../assets/asset-service.js';
import { type BuildRunner, raceAbort } from '../../assets/build-runner.js';
import { type ArchiveImage, readDockerArchive } from '../../builders/formats/docker-archive.js';
import type { CachedAsset } from '../../cache/asset-cache.js';
import { FactoryError, isFactoryError } from '../../errors.js';
import {
  type BuiltManifest,
  buildImageIndex,
  buildImageManifest,
  buildSignatureImage,
  describeManifest,
  isValidDigest,
  type ManifestDocument,
  OCI_CONFIG,
  type OciClient,
  parseManifest,
  type RepositoryRef,
  signatureLayers,
  signatureTag,
  signPayload,
  simpleSigningPayload,
  verifySignature,
} from '../../oci/index.js';
import { ARCHES, type Arch } from '../../profile/asset-request.js';
import {
  installerImageName,
  parseInstallerImage,
  type InstallerImage,
} from '../../profile/installer-image.js';
import { parseTalosVersion } from '../../profile/version.js';
import type { ReleaseSource } from '../../release/release-source.js';
import type { LoadedSchematic, SchematicService } from '../../storage/schematic-service.js';
import { type Logger, silentLogger } from '../../util/logger.js';
import { SingleFlight } from '../../util/single-flight.js';
import type { SigningKey } from './signing-key.js';
import type { RegistryStore } from './store.js';

/** Index annotation naming the installer assets (cache keys, amd64 then arm64) it was made from. */
export const ASSET_KEYS_ANNOTATION = 'dev.image-factory.installer.asset-keys';

/** Where clients are sent, or what they get. */
export type RegistryAnswer =
  | { readonly kind: 'manifest'; readonly bytes: Buffer; readonly digest: string; readonly mediaType: string }
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'blob'; readonly digest: string; readonly asset: CachedAsset };

/** The external registry of scale mode. */
export interface ExternalRegistry {
  readonly client: OciClient;
  readonly registry: string;
  readonly namespace: string;
  readonly insecure: boolean;
}

/** Dependencies of {@link InstallerImages}. */
export interface InstallerImagesDeps {
  readonly schematics: SchematicService;
  readonly release: ReleaseSource;
  readonly assets: AssetService;
  readonly runner: BuildRunner;
  readonly key: SigningKey;
  /** The local store (local mode). */
  readonly store: RegistryStore;
  /** Set in scale mode: images live there and clients are redirected to it. */
  readonly external?: ExternalRegistry;
  /** `host[:port]` clients pull from (the signature identity in local mode). */
  readonly identityHost: string;
  readonly limits: { readonly maxConfigBytes: number; readonly maxBlobBytes: number };
  /** Scratch space for pushes (scale mode). */
  readonly scratchDir: string;
  readonly log?: Logger;
}

/** Counters for tests and metrics. */
export interface InstallerImageStats {
  /** Indexes built and published. */
  published: number;
  /** Tag requests answered from a verified existing index. */
  reused: number;
  /** Existing indexes rejected (stale asset keys, missing or invalid signature). */
  rejected: number;
}

interface BuiltArch {
  readonly arch: Arch;
  readonly key: string;
  readonly asset: CachedAsset;
  readonly archive: ArchiveImage;
  readonly manifest: BuiltManifest;
}

const SIGNATURE_PAYLOAD_LIMIT = 64 * 1024;

/** A byte range of a cached asset seen as an asset of its own (a layer inside an installer archive). */
function rangeOf(asset: CachedAsset, offset: number, size: number, digest: string): CachedAsset {
  return {
    key: asset.key,
    size,
    sha256: digest.slice('sha256:'.length),
    sha512: '',
    open: (r) =>
      size === 0
        ? Promise.resolve(Readable.from([]))
        : asset.open(
            r ? { start: offset + r.start, end: offset + r.end } : { start: offset, end: offset + size - 1 },
          ),
  };
}

function bytesAsset(bytes: Buffer, digest: string): CachedAsset {
  return {
    key: digest,
    size: bytes.length,
    sha256: digest.slice('sha256:'.length),
    sha512: '',
    open: (r) => Promise.resolve(Readable.from([r ? bytes.subarray(r.start, r.end + 1) : bytes])),
  };
}

/** A stored manifest, or undefined when it does not parse (treated as absent). */
function tryParseManifest(bytes: Buffer, what: string): ManifestDocument | undefined {
  try {
    return parseManifest(bytes, undefined, what);
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves, builds, signs and stores installer images. */
export class InstallerImages {
  readonly #d: InstallerImagesDeps;
  readonly #log: Logger;
  readonly #flight = new SingleFlight<string, RegistryAnswer>();
  readonly stats: InstallerImageStats = { published: 0, reused: 0, rejected: 0 };

  constructor(deps: InstallerImagesDeps) {
    this.#d = deps;
    this.#log = deps.log ?? silentLogger;
  }

  /** True in scale mode. */
  get external(): boolean {
    return this.#d.external !== undefined;
  }

  /** Validates the image name and the schematic (in upstream's order) and names the repository. */
  async #open(
    imageName: string,
    schematicId: string,
  ): Promise<{ image: InstallerImage; loaded: LoadedSchematic; repo: string }> {
    const image = parseInstallerImage(imageName);
    const loaded = await this.#d.schematics.load(schematicId);
    // `metal-installer` and `installer` (and platform aliases) are one image: stored once.
    return { image, loaded, repo: `${installerImageName(image.platform, image.secureBoot)}/${loaded.id}` };
  }

  #externalRepo(repo: string): RepositoryRef {
    const ext = this.#d.external!;
    return { registry: ext.registry, repository: ext.namespace ? `${ext.namespace}/${repo}` : repo };
  }

  #redirect(repo: string, resource: 'manifests' | 'blobs', reference: string): RegistryAnswer {
    const ext = this.#d.external!;
    const r = this.#externalRepo(repo);
    return {
      kind: 'redirect',
      location: `${ext.insecure ? 'http' : 'https'}://${r.registry}/v2/${r.repository}/${resource}/${reference}`,
    };
  }

  /**
   * The version a manifest reference names (`latest` = newest stable offered version), or
   * undefined when it is no version at all (a digest, a signature tag).
   */
  async #version(reference: string): Promise<string | undefined> {
    if (reference === 'latest') {
      const stable = (await this.#d.release.versions()).filter(
        (v) => parseTalosVersion(v).prerelease.length === 0,
      );
      const newest = stable.at(-1);
      if (newest === undefined)
        throw new FactoryError('MANIFEST_UNKNOWN', 'no stable Talos version is offered');
      return newest;
    }
    if (isValidDigest(reference)) return undefined;
    let tag: string;
    try {
      tag = parseTalosVersion(reference).tag;
    } catch (e) {
      if (isFactoryError(e, 'VERSION_INVALID')) return undefined;
      throw e;
    }
    try {
      return await this.#d.release.requireVersion(tag);
    } catch (e) {
      if (isFactoryError(e, 'VERSION_UNAVAILABLE'))
        throw new FactoryError('MANIFEST_UNKNOWN', e.message, { cause: e });
      throw e;
    }
  }

  /** Answers `GET|HEAD /v2/<image>/<schematic>/manifests/<reference>`. */
  async manifest(
    imageName: string,
    schematicId: string,
    reference: string,
    signal?: AbortSignal,
  ): Promise<RegistryAnswer> {
    const { image, loaded, repo } = await this.#open(imageName, schematicId);
    const version = await this.#version(reference);
    if (version === undefined) {
      if (this.#d.external) return this.#redirect(repo, 'manifests', reference);
      const digest = isValidDigest(reference) ? reference : await this.#d.store.getTag(repo, reference);
      const bytes = digest === undefined ? undefined : await this.#d.store.getManifest(digest);
      if (digest === undefined || bytes === undefined) {
        throw new FactoryError(
          'MANIFEST_UNKNOWN',
          `manifest ${reference} of ${imageName}/${schematicId} is unknown`,
        );
      }
      return {
        kind: 'manifest',
        bytes,
        digest,
        mediaType: parseManifest(bytes, undefined, `manifest ${digest}`).mediaType,
      };
    }
    const planned = await Promise.all(ARCHES.map((arch) => this.#plan(loaded, version, image, arch, signal)));
    const keys = planned.map((p) => p.key).join(' ');
    const found = await this.#findValid(repo, version, keys, signal);
    if (found) {
      this.stats.reused++;
      return found;
    }
    const flight = this.#flight.do(`${repo}:${version}`, async () => {
      // Another flight may have published it between our look and this one.
      const again = await this.#findValid(repo, version, keys, undefined, false);
      return again ?? this.#publish(image, loaded, repo, version, planned);
    });
    return raceAbort(flight, signal);
  }

  #plan(
    loaded: LoadedSchematic,
    version: string,
    image: InstallerImage,
    arch: Arch,
    signal?: AbortSignal,
  ): Promise<PlannedAsset> {
    return this.#d.assets.plan(
      loaded,
      version,
      { kind: 'installer', platform: image.platform, arch, secureBoot: image.secureBoot },
      signal,
    );
  }

  /** The existing index for `repo:version` when it is current and validly signed. */
  async #findValid(
    repo: string,
    version: string,
    keys: string,
    signal?: AbortSignal,
    report = true,
  ): Promise<RegistryAnswer | undefined> {
    const ext = this.#d.external;
    let bytes: Buffer;
    let digest: string;
    if (ext) {
      try {
        const m = await ext.client.getManifest(this.#externalRepo(repo), version, signal ? { signal } : {});
        ({ bytes, digest } = m);
      } catch (e) {
        if (isFactoryError(e, 'NOT_FOUND')) return undefined;
        throw e;
      }
    } else {
      const d = await this.#d.store.getTag(repo, version);
      const b = d === undefined ? undefined : await this.#d.store.getManifest(d);
      if (d === undefined || b === undefined) return undefined;
      [bytes, digest] = [b, d];
    }
    const doc = tryParseManifest(bytes, `index ${repo}:${version}`);
    if (doc?.kind !== 'index' || doc.annotations?.[ASSET_KEYS_ANNOTATION] !== keys) {
      if (!report) return undefined;
      this.stats.rejected++;
      this.#log.info(
        { repo, version, digest },
        'installer index is not made from the current assets; rebuilding',
      );
      return undefined;
    }
    if (!(await this.#signatureValid(repo, digest, signal))) {
      if (!report) return undefined;
      this.stats.rejected++;
      this.#log.warn({ repo, version, digest }, 'installer index has no valid signature; rebuilding');
      return undefined;
    }
    return ext
      ? this.#redirect(repo, 'manifests', digest)
      : { kind: 'manifest', bytes, digest, mediaType: doc.mediaType };
  }

  /** True when a signature of `digest` by the factory key is stored beside it. */
  async #signatureValid(repo: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    const ext = this.#d.external;
    const tag = signatureTag(digest);
    let sigBytes: Buffer | undefined;
    if (ext) {
      try {
        sigBytes = (await ext.client.getManifest(this.#externalRepo(repo), tag, signal ? { signal } : {}))
          .bytes;
      } catch (e) {
        if (isFactoryError(e, 'NOT_FOUND')) return false;
        throw e;
      }
    } else {
      const d = await this.#d.store.getTag(repo, tag);
      sigBytes = d === undefined ? undefined : await this.#d.store.getManifest(d);
    }
    const doc = sigBytes === undefined ? undefined : tryParseManifest(sigBytes, `signature ${repo}:${tag}`);
    if (doc?.kind !== 'manifest') return false;
    for (const layer of signatureLayers(doc)) {
      if (layer.size > SIGNATURE_PAYLOAD_LIMIT) continue;
      const payload = ext
        ? await ext.client
            .getBlobBytes(this.#externalRepo(repo), layer.digest, {
              maxBytes: SIGNATURE_PAYLOAD_LIMIT,
              ...(signal ? { signal } : {}),
            })
            .catch((e: unknown) => {
              if (isFactoryError(e, 'NOT_FOUND')) return undefined;
              throw e;
            })
        : await this.#d.store.getBlob(layer.digest);
      if (payload && verifySignature(this.#d.key.publicKey, payload, layer.signature, digest)) return true;
    }
    return false;
  }

  /** Builds both arches, then stores or pushes everything, tag last. */
  async #publish(
    image: InstallerImage,
    loaded: LoadedSchematic,
    repo: string,
    version: string,
    planned: readonly PlannedAsset[],
  ): Promise<RegistryAnswer> {
    const started = Date.now();
    const arches = await Promise.all(
      planned.map(async (p, i): Promise<BuiltArch> => {
        const arch = ARCHES[i]!;
        // No client signal: the build is detached; the runner queues and bounds it.
        const asset = await this.#d.assets.realize(p);
        const stream = await asset.open();
        let archive: ArchiveImage;
        try {
          archive = await readDockerArchive(
            stream,
            { maxConfigBytes: this.#d.limits.maxConfigBytes, maxLayerBytes: this.#d.limits.maxBlobBytes },
            `installer ${repo}:${version} (${arch})`,
          );
        } finally {
          stream.destroy(); // the reader stops at the end-of-archive marker, not at the stream's end
        }
        const manifest = buildImageManifest({
          config: { mediaType: OCI_CONFIG, digest: archive.config.digest, size: archive.config.bytes.length },
          layers: archive.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
        });
        return { arch, key: p.key, asset, archive, manifest };
      }),
    );
    const index = buildImageIndex({
      manifests: arches.map((a) => ({
        descriptor: describeManifest(a.manifest),
        platform: { architecture: a.arch, os: 'linux' },
      })),
      annotations: { [ASSET_KEYS_ANNOTATION]: arches.map((a) => a.key).join(' ') },
    });
    const ext = this.#d.external;
    const identity = ext
      ? `${ext.registry}/${this.#externalRepo(repo).repository}`
      : `${this.#d.identityHost}/${repo}`;
    const payload = simpleSigningPayload(identity, index.digest);
    const signature = buildSignatureImage(payload, signPayload(this.#d.key.privateKey, payload));
    const answer = ext
      ? await this.#push(repo, version, arches, index, signature)
      : await this.#storeLocally(image, loaded, repo, version, arches, index, signature);
    this.stats.published++;
    this.#log.info(
      { repo, version, digest: index.digest, ms: Date.now() - started },
      'installer image published',
    );
    return answer;
  }

  async #storeLocally(
    image: InstallerImage,
    loaded: LoadedSchematic,
    repo: string,
    version: string,
    arches: readonly BuiltArch[],
    index: BuiltManifest,
    signature: ReturnType<typeof buildSignatureImage>,
  ): Promise<RegistryAnswer> {
    const { store } = this.#d;
    const imageName = installerImageName(image.platform, image.secureBoot);
    for (const a of arches) {
      await store.putBlob(a.archive.config.bytes);
      for (const l of a.archive.layers) {
        await store.putLocator(l.digest, {
          key: a.key,
          offset: l.offset,
          size: l.size,
          image: imageName,
          schematic: loaded.id,
          version,
          arch: a.arch,
        });
      }
      await store.putManifest(a.manifest.bytes);
    }
    await store.putManifest(index.bytes);
    await store.putBlob(signature.config);
    await store.putBlob(signature.payload);
    await store.putManifest(signature.manifest.bytes);
    await store.setTag(repo, signatureTag(index.digest), signature.manifest.digest);
    await store.setTag(repo, version, index.digest);
    return { kind: 'manifest', bytes: index.bytes, digest: index.digest, mediaType: index.mediaType };
  }

  async #push(
    repo: string,
    version: string,
    arches: readonly BuiltArch[],
    index: BuiltManifest,
    signature: ReturnType<typeof buildSignatureImage>,
  ): Promise<RegistryAnswer> {
    const { client } = this.#d.external!;
    const target = this.#externalRepo(repo);
    await mkdir(this.#d.scratchDir, { recursive: true });
    const tmp = await mkdtemp(join(this.#d.scratchDir, 'push-'));
    try {
      for (const a of arches) {
        for (const l of a.archive.layers) {
          if (await client.blobExists(target, l.digest)) continue;
          const file = join(tmp, l.digest.slice('sha256:'.length));
          await pipeline(await rangeOf(a.asset, l.offset, l.size, l.digest).open(), createWriteStream(file));
          await client.pushBlob(target, { path: file }, { digest: l.digest, chunked: l.size >= 8 << 20 });
          await rm(file, { force: true });
        }
        await client.pushBlob(target, a.archive.config.bytes);
        await client.pushManifest(target, a.manifest.digest, a.manifest.bytes, a.manifest.mediaType);
      }
      await client.pushManifest(target, index.digest, index.bytes, index.mediaType);
      await client.pushBlob(target, signature.config);
      await client.pushBlob(target, signature.payload);
      await client.pushManifest(
        target,
        signatureTag(index.digest),
        signature.manifest.bytes,
        signature.manifest.mediaType,
      );
      // Read-after-write: the tag is promoted only once the signature reads back valid.
      let delay = 250;
      for (let waited = 0; !(await this.#signatureValid(repo, index.digest)); waited += delay, delay *= 2) {
        if (waited >= 30_000) {
          throw new FactoryError(
            'UPSTREAM_UNAVAILABLE',
            `registry ${target.registry}: the signature of ${target.repository}@${index.digest} does not read back valid`,
          );
        }
        await sleep(delay);
      }
      await client.pushManifest(target, version, index.bytes, index.mediaType);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    return this.#redirect(repo, 'manifests', index.digest);
  }

  /** Answers `GET|HEAD /v2/<image>/<schematic>/blobs/<digest>`. */
  async blob(
    imageName: string,
    schematicId: string,
    digest: string,
    signal?: AbortSignal,
  ): Promise<RegistryAnswer> {
    const { repo } = await this.#open(imageName, schematicId);
    if (this.#d.external) return this.#redirect(repo, 'blobs', digest);
    const unknown = () =>
      new FactoryError('BLOB_UNKNOWN', `blob ${digest} of ${imageName}/${schematicId} is unknown`);
    if (!isValidDigest(digest)) throw unknown();
    const small = await this.#d.store.getBlob(digest);
    if (small) return { kind: 'blob', digest, asset: bytesAsset(small, digest) };
    const loc = await this.#d.store.getLocator(digest);
    if (!loc) throw unknown();
    let asset = await this.#d.runner.lookup(loc.key);
    if (!asset) {
      // Evicted from the asset cache: builds are reproducible, so the same request rebuilds the
      // same bytes — unless the builder changed since, and then the layer no longer exists.
      const image = parseInstallerImage(loc.image);
      const loaded = await this.#d.schematics.load(loc.schematic);
      const planned = await this.#plan(loaded, loc.version, image, loc.arch, signal);
      if (planned.key !== loc.key) throw unknown();
      asset = await this.#d.assets.realize(planned, signal);
    }
    if (loc.offset + loc.size > asset.size) throw unknown();
    return { kind: 'blob', digest, asset: rangeOf(asset, loc.offset, loc.size, digest) };
  }

  /** Answers `GET /v2/<image>/<schematic>/tags/list`: the offered versions. */
  async tags(imageName: string, schematicId: string): Promise<{ name: string; tags: string[] }> {
    await this.#open(imageName, schematicId);
    return { name: `${imageName}/${schematicId}`, tags: await this.#d.release.versions() };
  }
}
