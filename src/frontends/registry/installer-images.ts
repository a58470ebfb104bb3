/**
 * Installer images behind the registry frontend (image-factory §5.2): a tag of
 * `<image>/<schematic>` is the installer asset of both arches as one signed OCI index.
 *
 * A manifest request by version plans both arches' installer assets (keys only, no build), then
 * reuses the tagged index when it names exactly those assets (an annotation) and its cosign
 * signature verifies with the factory key. Otherwise it builds — single-flight per (image,
 * schematic, version), detached from the client, both arches through the AssetService (queued and
 * bounded like every build) — reads each archive once (verifying every member), assembles the
 * per-arch manifests and the index, signs it, and hands everything to the backing, which writes
 * the tag last: a tag never points at a half index.
 */
import type { AssetService, PlannedAsset } from '../../assets/asset-service.js';
import { type BuildRunner, raceAbort } from '../../assets/build-runner.js';
import { type ArchiveImage, readDockerArchive } from '../../builders/formats/docker-archive.js';
import type { CachedAsset } from '../../cache/asset-cache.js';
import { FactoryError, isFactoryError } from '../../errors.js';
import {
  buildImageIndex,
  buildImageManifest,
  buildSignatureImage,
  describeManifest,
  isValidDigest,
  type ManifestDocument,
  OCI_CONFIG,
  parseManifest,
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
import type { BuiltArch, InstallerBacking, RegistryAnswer } from './backing.js';
import type { SigningKey } from './signing-key.js';
import type { LayerLocator } from './store.js';

export type { RegistryAnswer } from './backing.js';

/** Index annotation naming the installer assets (cache keys, amd64 then arm64) it was made from. */
export const ASSET_KEYS_ANNOTATION = 'dev.image-factory.installer.asset-keys';

/** Dependencies of {@link InstallerImages}. */
export interface InstallerImagesDeps {
  readonly schematics: SchematicService;
  readonly release: ReleaseSource;
  readonly assets: AssetService;
  readonly runner: BuildRunner;
  readonly key: SigningKey;
  /** Where the images live: the factory's own store or an external registry. */
  readonly backing: InstallerBacking;
  /** Caps on what is read out of an installer archive. */
  readonly limits: { readonly maxConfigBytes: number; readonly maxBlobBytes: number };
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

const SIGNATURE_PAYLOAD_LIMIT = 64 * 1024;

/** A stored manifest, or undefined when it does not parse (treated as absent). */
function tryParseManifest(bytes: Buffer, what: string): ManifestDocument | undefined {
  try {
    return parseManifest(bytes, undefined, what);
  } catch {
    return undefined;
  }
}

/** Resolves, builds, signs and publishes installer images. */
export class InstallerImages {
  readonly #d: InstallerImagesDeps;
  readonly #log: Logger;
  readonly #flight = new SingleFlight<string, RegistryAnswer>();
  readonly stats: InstallerImageStats = { published: 0, reused: 0, rejected: 0 };

  constructor(deps: InstallerImagesDeps) {
    this.#d = deps;
    this.#log = deps.log ?? silentLogger;
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

  /**
   * The version a manifest reference names (`latest` = newest stable offered version), or
   * undefined when it is no version at all (a digest, a signature tag).
   */
  async #version(reference: string): Promise<string | undefined> {
    if (reference === 'latest') {
      const offered = await this.#d.release.versions();
      const newest = offered.filter((v) => parseTalosVersion(v).prerelease.length === 0).at(-1);
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
      return this.#d.backing.manifest(
        repo,
        reference,
        `manifest ${reference} of ${imageName}/${schematicId}`,
      );
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

  /** The existing index for `repo:version` when it is made from `keys` and validly signed. */
  async #findValid(
    repo: string,
    version: string,
    keys: string,
    signal?: AbortSignal,
    report = true,
  ): Promise<RegistryAnswer | undefined> {
    const found = await this.#d.backing.readTag(repo, version, signal);
    if (!found) return undefined;
    const doc = tryParseManifest(found.bytes, `index ${repo}:${version}`);
    let why: string | undefined;
    if (doc?.kind !== 'index' || doc.annotations?.[ASSET_KEYS_ANNOTATION] !== keys) {
      why = 'installer index is not made from the current assets; rebuilding';
    } else if (!(await this.#signatureValid(repo, found.digest, signal))) {
      why = 'installer index has no valid signature; rebuilding';
    }
    if (why !== undefined || doc === undefined) {
      if (report) {
        this.stats.rejected++;
        this.#log.warn({ repo, version, digest: found.digest }, why);
      }
      return undefined;
    }
    return this.#d.backing.answerIndex(repo, found.digest, found.bytes, doc.mediaType);
  }

  /** True when a signature of `digest` by the factory key is stored beside it. */
  async #signatureValid(repo: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    const sig = await this.#d.backing.readTag(repo, signatureTag(digest), signal);
    const doc = sig && tryParseManifest(sig.bytes, `signature ${repo}:${signatureTag(digest)}`);
    if (doc?.kind !== 'manifest') return false;
    for (const layer of signatureLayers(doc)) {
      if (layer.size > SIGNATURE_PAYLOAD_LIMIT) continue;
      const payload = await this.#d.backing.readBlob(repo, layer.digest, SIGNATURE_PAYLOAD_LIMIT, signal);
      if (payload && verifySignature(this.#d.key.publicKey, payload, layer.signature, digest)) return true;
    }
    return false;
  }

  /** One arch: its asset (built or cached; no client signal — the build is detached), read once. */
  async #buildArch(planned: PlannedAsset, arch: Arch, what: string): Promise<BuiltArch> {
    const asset = await this.#d.assets.realize(planned);
    const stream = await asset.open();
    let archive: ArchiveImage;
    try {
      archive = await readDockerArchive(
        stream,
        { maxConfigBytes: this.#d.limits.maxConfigBytes, maxLayerBytes: this.#d.limits.maxBlobBytes },
        `${what} (${arch})`,
      );
    } finally {
      stream.destroy(); // the reader stops at the end-of-archive marker, not at the stream's end
    }
    const manifest = buildImageManifest({
      config: { mediaType: OCI_CONFIG, digest: archive.config.digest, size: archive.config.bytes.length },
      layers: archive.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    });
    return { arch, key: planned.key, asset, archive, manifest };
  }

  /** Builds both arches, signs the index, publishes (tag last). */
  async #publish(
    image: InstallerImage,
    loaded: LoadedSchematic,
    repo: string,
    version: string,
    planned: readonly PlannedAsset[],
  ): Promise<RegistryAnswer> {
    const started = Date.now();
    const arches = await Promise.all(
      planned.map((p, i) => this.#buildArch(p, ARCHES[i]!, `installer ${repo}:${version}`)),
    );
    const index = buildImageIndex({
      manifests: arches.map((a) => ({
        descriptor: describeManifest(a.manifest),
        platform: { architecture: a.arch, os: 'linux' },
      })),
      annotations: { [ASSET_KEYS_ANNOTATION]: arches.map((a) => a.key).join(' ') },
    });
    const payload = simpleSigningPayload(this.#d.backing.identity(repo), index.digest);
    await this.#d.backing.publish({
      repo,
      version,
      image: installerImageName(image.platform, image.secureBoot),
      schematic: loaded.id,
      arches,
      index,
      signature: buildSignatureImage(payload, signPayload(this.#d.key.privateKey, payload)),
      verify: () => this.#signatureValid(repo, index.digest),
    });
    this.stats.published++;
    this.#log.info(
      { repo, version, digest: index.digest, ms: Date.now() - started },
      'installer image published',
    );
    return this.#d.backing.answerIndex(repo, index.digest, index.bytes, index.mediaType);
  }

  /** Answers `GET|HEAD /v2/<image>/<schematic>/blobs/<digest>`. */
  async blob(
    imageName: string,
    schematicId: string,
    digest: string,
    signal?: AbortSignal,
  ): Promise<RegistryAnswer> {
    const { repo } = await this.#open(imageName, schematicId);
    const what = `blob ${digest} of ${imageName}/${schematicId}`;
    return this.#d.backing.blob(repo, digest, what, (loc) => this.#layerAsset(loc, what, signal));
  }

  /**
   * The cached installer asset a layer lives in. Evicted: builds are reproducible, so the same
   * request rebuilds the same bytes — unless the builder changed since, and then the layer is gone.
   */
  async #layerAsset(loc: LayerLocator, what: string, signal?: AbortSignal): Promise<CachedAsset> {
    const hit = await this.#d.runner.lookup(loc.key);
    if (hit) return hit;
    const loaded = await this.#d.schematics.load(loc.schematic);
    const planned = await this.#plan(loaded, loc.version, parseInstallerImage(loc.image), loc.arch, signal);
    if (planned.key !== loc.key) throw new FactoryError('BLOB_UNKNOWN', `${what} is unknown`);
    return this.#d.assets.realize(planned, signal);
  }

  /** Answers `GET /v2/<image>/<schematic>/tags/list`: the offered versions. */
  async tags(imageName: string, schematicId: string): Promise<{ name: string; tags: string[] }> {
    await this.#open(imageName, schematicId);
    return { name: `${imageName}/${schematicId}`, tags: await this.#d.release.versions() };
  }
}
