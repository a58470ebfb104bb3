/**
 * The release source: which Talos versions exist, their extension/overlay catalogs, and the
 * verified local inputs (kernel, initramfs, EFI stubs) of one (version, arch), all read through an
 * ImageSource (registry or OCI layout) and cached on local disk.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { detectFileKind } from '../builders/formats/magic.js';
import { runTool } from '../builders/tools/run.js';
import { FactoryError, isFactoryError } from '../errors.js';
import { parseManifest, type Descriptor, type ImageManifest } from '../oci/manifest.js';
import { selectPlatform } from '../oci/platform.js';
import { type Logger, silentLogger } from '../util/logger.js';
import { SingleFlight } from '../util/single-flight.js';
import { tempTag } from '../util/stale-temps.js';
import { BlobStore } from './blob-store.js';
import { DiskLru } from './disk-lru.js';
import {
  EXTENSION_ALIASES,
  parseDescriptions,
  parseImageDigests,
  parseOverlays,
  repositoryPath,
  type ExtensionEntry,
  type OverlayEntry,
} from './catalog.js';
import { extractLayers, type LayerFile } from './extract.js';
import type { FetchedManifest, ImageSource } from './image-source.js';
import { parseTalosVersion, tryParseTalosVersion, versionAtLeast } from '../profile/version.js';
import { offeredVersions, releaseTag, type VersionPolicy } from './versions.js';

/** CPU architectures the factory builds for. */
export type Arch = 'amd64' | 'arm64';

/** Component repositories (paths below the namespace). */
export interface Components {
  imager: string;
  installer: string;
  installerBase: string;
  extensionManifest: string;
  overlayManifest: string;
}

/** Options of {@link ReleaseSource}. */
export interface ReleaseSourceOptions {
  images: ImageSource;
  components: Components;
  namespace: string;
  /** Registry host shown in catalog `ref`s (what users would pull from). */
  registry: string;
  policy: VersionPolicy;
  recheckMs: number;
  /** Local cache root: `blobs/` and `artifacts/` live below it. */
  cacheDir: string;
  /** Bound on `blobs/` + `artifacts/` (least recently used go first). Default unbounded. */
  cacheMaxBytes?: number;
  /**
   * Where catalog contents are kept by image digest across processes (the shared asset cache), so
   * a replica resolves extension names to digests with a manifest request and no blob download.
   */
  documents?: DocumentCache;
  log?: Logger;
  now?: () => number;
}

/** Small texts kept under names that pin their content (an image digest); misses are fine. */
export interface DocumentCache {
  get(name: string): Promise<string | undefined>;
  put(name: string, text: string): Promise<void>;
}

/** Cause of the error for a release without any files of an arch (tells it from a broken one). */
export class ArchMissing extends Error {
  constructor(readonly arch: string) {
    super(`no ${arch} build`);
    this.name = 'ArchMissing';
  }
}

/** Verified local boot inputs of one release for one arch. */
export interface ReleaseInputs {
  version: string;
  arch: Arch;
  /** Digest of the imager manifest these files came from (part of asset cache keys). */
  imagerDigest: string;
  kernel: string;
  initramfs: string;
  systemdStub: string | undefined;
  systemdBoot: string | undefined;
  /** sha256 hex of every file above, by file name. */
  sha256: Record<string, string>;
}

/** A pulled image for one platform: its manifest digest and local layer files. */
export interface PulledImage {
  repository: string;
  digest: string;
  manifest: ImageManifest;
  layers: LayerFile[];
}

const INPUT_FILES = ['vmlinuz', 'initramfs.xz', 'systemd-stub.efi', 'systemd-boot.efi'] as const;

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Integrity test per compression (the whole stream is read once, at extraction). */
const INTEGRITY_TEST: Readonly<Record<string, readonly string[]>> = {
  xz: ['xz', '-t', '--'],
  zstd: ['zstd', '-t', '-q', '--'],
  gzip: ['gzip', '-t', '--'],
};

/**
 * A release whose initramfs is not one must fail at extraction, naming it (502), not deep inside
 * a later build or — worse — produce an asset that cannot boot.
 */
async function checkInitramfs(path: string, what: string): Promise<void> {
  const kind = await detectFileKind(path);
  if (!['xz', 'zstd', 'gzip', 'cpio'].includes(kind)) {
    throw new FactoryError('UPSTREAM_UNAVAILABLE', `${what} is not an xz, zstd, gzip or cpio initramfs`);
  }
  const test = INTEGRITY_TEST[kind];
  if (!test) return;
  const [command, ...args] = test as [string, ...string[]];
  try {
    await runTool(command, [...args, path], { step: `${command} -t` });
  } catch (e) {
    throw new FactoryError('UPSTREAM_UNAVAILABLE', `${what} fails its ${kind} integrity test`, { cause: e });
  }
}

/** Finds, fetches, verifies and caches release inputs. */
export class ReleaseSource {
  readonly #o: ReleaseSourceOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #blobs: BlobStore;
  readonly #disk: DiskLru;
  #versions: { at: number; list: string[] } | undefined;
  readonly #versionFlight = new SingleFlight<'versions', string[]>();
  readonly #catalogs = new Map<string, Promise<ExtensionEntry[]>>();
  readonly #overlays = new Map<string, Promise<OverlayEntry[]>>();
  readonly #inputFlight = new SingleFlight<string, ReleaseInputs>();
  readonly #pins = new Map<string, { at: number; digest: string }>();
  readonly #pinFlight = new SingleFlight<string, string>();
  readonly #verifiedInputs = new Map<string, ReleaseInputs>();

  constructor(options: ReleaseSourceOptions) {
    this.#o = options;
    this.#log = options.log ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.#blobs = new BlobStore(join(options.cacheDir, 'blobs'));
    this.#disk = new DiskLru(
      [
        { dir: join(options.cacheDir, 'blobs', 'sha256'), depth: 1 },
        { dir: join(options.cacheDir, 'artifacts'), depth: 2 },
      ],
      options.cacheMaxBytes ?? Number.POSITIVE_INFINITY,
      // A build reads its inputs within minutes of asking for them.
      30 * 60_000,
    );
  }

  /** Where images are read from (for messages and `/readyz`). */
  get description(): string {
    return this.#o.images.description;
  }

  /** Repository path in the source for a component path (namespace applied). */
  repo(path: string): string {
    return this.#o.namespace ? `${this.#o.namespace}/${path}` : path;
  }

  /** The offered versions, ascending, `v`-prefixed; re-listed after the recheck interval. */
  async versions(): Promise<string[]> {
    const cached = this.#versions;
    if (cached && this.#now() - cached.at < this.#o.recheckMs) return cached.list;
    return this.#versionFlight.do('versions', async () => {
      try {
        const tags = await this.#o.images.listTags(this.repo(this.#o.components.imager));
        const list = offeredVersions(tags, this.#o.policy);
        this.#versions = { at: this.#now(), list };
        return list;
      } catch (e) {
        // Serving a slightly stale list beats failing every request while the upstream hiccups.
        if (cached) {
          this.#log.warn({ err: e }, 'version re-check failed; keeping the previous list');
          return cached.list;
        }
        throw e;
      }
    });
  }

  /** The configured broken versions, `v`-prefixed. */
  brokenVersions(): string[] {
    return this.#o.policy.broken.map((b) => {
      const v = tryParseTalosVersion(b);
      return v ? releaseTag(v) : b;
    });
  }

  /**
   * Normalises a version from a URL (`1.5.0` → `v1.5.0`) and checks it is offered:
   * VERSION_INVALID (400) when malformed, VERSION_UNAVAILABLE (404) when not offered.
   */
  async requireVersion(input: string): Promise<string> {
    // The whole tag counts, build metadata included: `v1.5.5+x` is not an offered version.
    const tag = parseTalosVersion(input).tag;
    const list = await this.versions();
    if (!list.includes(tag))
      throw new FactoryError('VERSION_UNAVAILABLE', `version ${tag.slice(1)} is not available`);
    return tag;
  }

  /**
   * Pulls an image (tag or digest) for a platform: manifest + verified local layer blobs. Anything
   * missing upstream is the release's fault, not the user's: 502, never 404.
   */
  async pullImage(
    repository: string,
    reference: string,
    arch: Arch,
    signal?: AbortSignal,
  ): Promise<PulledImage> {
    try {
      return await this.#pullImage(repository, reference, arch, signal);
    } catch (e) {
      if (isFactoryError(e, 'NOT_FOUND'))
        throw new FactoryError('UPSTREAM_UNAVAILABLE', e.message, { cause: e });
      throw e;
    }
  }

  async #pullImage(
    repository: string,
    reference: string,
    arch: Arch,
    signal?: AbortSignal,
  ): Promise<PulledImage> {
    const repo = this.repo(repository);
    const top = await this.#o.images.getManifest(repo, reference, signal);
    const what = `${repo}@${top.digest}`;
    let doc = parseManifest(top.bytes, top.mediaType, what);
    let digest = top.digest;
    if (doc.kind === 'index') {
      const desc: Descriptor = selectPlatform(doc, `linux/${arch}`, what);
      const m = await this.#o.images.getManifest(repo, desc.digest, signal);
      doc = parseManifest(m.bytes, m.mediaType, `${repo}@${m.digest}`);
      digest = m.digest;
      if (doc.kind !== 'manifest')
        throw new FactoryError('UPSTREAM_UNAVAILABLE', `${what}: nested index for linux/${arch}`);
    }
    const layers: LayerFile[] = [];
    for (const layer of doc.layers) {
      layers.push({
        path: await this.#useBlob(repo, layer.digest, layer.size, signal),
        mediaType: layer.mediaType,
      });
    }
    return { repository: repo, digest, manifest: doc, layers };
  }

  /** A verified local blob, counted as used for the disk bound. */
  async #useBlob(repo: string, digest: string, size: number, signal?: AbortSignal): Promise<string> {
    const path = await this.#blobs.ensure(this.#o.images, repo, digest, signal, size);
    await this.#disk.touch(path, size);
    await this.#evict();
    return path;
  }

  /** Keeps the release caches within their bound; evicted inputs are re-extracted on next use. */
  async #evict(): Promise<void> {
    await this.#disk.evict((path) => {
      this.#blobs.forget(path);
      for (const [key, inputs] of this.#verifiedInputs) {
        if (inputs.kernel.startsWith(`${path}/`)) this.#verifiedInputs.delete(key);
      }
    });
  }

  /** Reads small files out of an image (catalogs) into memory. */
  async #readImageFiles(repository: string, tag: string, files: string[]): Promise<Map<string, string>> {
    // The tag's digest pins the files: kept by it, they cost one manifest request next time.
    const digest = await this.#topDigest(repository, tag);
    const name = `${this.repo(repository)}@${digest}:${files.join(',')}`;
    const kept = await this.#o.documents?.get(name).catch(() => undefined);
    if (kept !== undefined) {
      try {
        return new Map(Object.entries(JSON.parse(kept) as Record<string, string>));
      } catch {
        // Unreadable: read the image again.
      }
    }
    const out = await this.#extractImageFiles(repository, digest, files);
    await this.#o.documents?.put(name, JSON.stringify(Object.fromEntries(out))).catch((e: unknown) => {
      this.#log.warn({ name, err: e instanceof Error ? e.message : String(e) }, 'could not keep catalog');
    });
    return out;
  }

  /** Digest of what `repository:reference` names (an index or a manifest): one manifest request. */
  async #topDigest(repository: string, reference: string): Promise<string> {
    try {
      return (await this.#o.images.getManifest(this.repo(repository), reference)).digest;
    } catch (e) {
      if (isFactoryError(e, 'NOT_FOUND'))
        throw new FactoryError('UPSTREAM_UNAVAILABLE', e.message, { cause: e });
      throw e;
    }
  }

  async #extractImageFiles(repository: string, tag: string, files: string[]): Promise<Map<string, string>> {
    const image = await this.pullImage(repository, tag, 'amd64');
    const tmp = join(this.#o.cacheDir, 'tmp', `catalog${tempTag()}`);
    try {
      await extractLayers(image.layers, tmp);
      const out = new Map<string, string>();
      for (const f of files) {
        const text = await readFile(join(tmp, f), 'utf8').catch(() => undefined);
        if (text !== undefined) out.set(f, text);
      }
      return out;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  #registryRef(repository: string, tag: string): string {
    return `${this.#o.registry}/${this.repo(repository)}:${tag}`;
  }

  /** The official extensions of a version (catalog order); failures are not cached. */
  extensionCatalog(version: string): Promise<ExtensionEntry[]> {
    return this.#memo(this.#catalogs, version, async () => {
      const files = await this.#readImageFiles(this.#o.components.extensionManifest, version, [
        'image-digests',
        'descriptions.yaml',
      ]);
      const digests = files.get('image-digests');
      if (digests === undefined) {
        throw new FactoryError(
          'UPSTREAM_UNAVAILABLE',
          `extensions catalog ${version} has no image-digests file`,
        );
      }
      const descriptions = parseDescriptions(files.get('descriptions.yaml') ?? '');
      return parseImageDigests(digests).map((img) => ({
        name: img.repository,
        ref: this.#registryRef(img.repository, img.tag),
        digest: img.digest,
        author: descriptions.get(img.line)?.author ?? '',
        description: descriptions.get(img.line)?.description ?? '',
      }));
    });
  }

  /** The official overlays of a version (empty before Talos 1.7.0). */
  overlayCatalog(version: string): Promise<OverlayEntry[]> {
    const v = tryParseTalosVersion(version);
    if (v && !versionAtLeast({ ...v, prerelease: [] }, '1.7.0')) return Promise.resolve([]);
    return this.#memo(this.#overlays, version, async () => {
      const files = await this.#readImageFiles(this.#o.components.overlayManifest, version, [
        'overlays.yaml',
      ]);
      return parseOverlays(files.get('overlays.yaml') ?? '').map((o) => {
        const ref = o.image.includes('@') ? o.image.slice(0, o.image.indexOf('@')) : o.image;
        const lastColon = ref.lastIndexOf(':');
        const repoPart = lastColon > ref.lastIndexOf('/') ? ref.slice(0, lastColon) : ref;
        return { name: o.name, image: repositoryPath(repoPart), ref: o.image, digest: o.digest };
      });
    });
  }

  /** Resolves official extension names (aliases applied) to catalog entries for `version`. */
  async resolveExtensions(version: string, names: readonly string[]): Promise<ExtensionEntry[]> {
    const catalog = await this.extensionCatalog(version);
    return names.map((requested) => {
      const found =
        catalog.find((e) => e.name === requested) ??
        catalog.find((e) => e.name === EXTENSION_ALIASES[requested]) ??
        catalog.find((e) => EXTENSION_ALIASES[e.name] === requested);
      if (!found) {
        throw new FactoryError(
          'EXTENSION_UNAVAILABLE',
          `official extension "${requested}" is not available for Talos version ${version}`,
        );
      }
      return found;
    });
  }

  #memo<T>(map: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const hit = map.get(key);
    if (hit) return hit;
    const p = load();
    map.set(key, p);
    p.catch(() => map.delete(key));
    return p;
  }

  /**
   * The digest that pins a release's boot inputs: the imager manifest the factory reads (the
   * image carries both arches' files). One manifest request, remembered for the version re-check
   * interval, so cache keys — and cache hits — need no release blobs.
   */
  pin(version: string, signal?: AbortSignal): Promise<string> {
    const hit = this.#pins.get(version);
    if (hit && this.#now() - hit.at < this.#o.recheckMs) return Promise.resolve(hit.digest);
    return this.#pinFlight.do(version, async () => {
      const digest = await this.#resolvePlatformDigest(this.#o.components.imager, version, 'amd64', signal);
      this.#pins.set(version, { at: this.#now(), digest });
      return digest;
    });
  }

  /** The configured repository path of a release component (`installerBase` → `siderolabs/installer-base`). */
  component(name: keyof Components): string {
    return this.#o.components[name];
  }

  /**
   * The manifest digest of `repository:reference` for `arch` (an index's platform entry), remembered
   * for the version re-check interval like {@link pin}: cache keys of assets built from other release
   * images (the base installer) need one manifest request per interval, never a blob.
   */
  pinImage(repository: string, reference: string, arch: Arch, signal?: AbortSignal): Promise<string> {
    const key = `${repository}:${reference}/${arch}`;
    const hit = this.#pins.get(key);
    if (hit && this.#now() - hit.at < this.#o.recheckMs) return Promise.resolve(hit.digest);
    return this.#pinFlight.do(key, async () => {
      const digest = await this.#resolvePlatformDigest(repository, reference, arch, signal);
      this.#pins.set(key, { at: this.#now(), digest });
      return digest;
    });
  }

  /** The verified config blob of a pulled image (capped at `maxBytes`, default 4 MiB). */
  async imageConfig(image: PulledImage, signal?: AbortSignal, maxBytes = 4 << 20): Promise<Buffer> {
    const { digest, size } = image.manifest.config;
    if (size > maxBytes) {
      throw new FactoryError(
        'MANIFEST_TOO_LARGE',
        `${image.repository}@${image.digest}: config is ${size} bytes, over the ${maxBytes}-byte limit`,
      );
    }
    return readFile(await this.#useBlob(image.repository, digest, size, signal));
  }

  /**
   * Source-image proxy (image-factory §5.4): a manifest of a component repository as the release
   * source has it (digest verified, size-capped by the source).
   */
  sourceManifest(repository: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    return this.#o.images.getManifest(this.repo(repository), reference, signal);
  }

  /** Source-image proxy: a verified local copy of a blob whose size a manifest declared. */
  sourceBlob(repository: string, digest: string, size: number, signal?: AbortSignal): Promise<string> {
    return this.#useBlob(this.repo(repository), digest, size, signal);
  }

  /** Source-image proxy: the tags of a component repository. */
  sourceTags(repository: string, signal?: AbortSignal): Promise<string[]> {
    return this.#o.images.listTags(this.repo(repository), signal);
  }

  /** Manifest digest of `repository:reference` for a platform (the index's entry, no second fetch). */
  async #resolvePlatformDigest(
    repository: string,
    reference: string,
    arch: Arch,
    signal?: AbortSignal,
  ): Promise<string> {
    const repo = this.repo(repository);
    try {
      const top = await this.#o.images.getManifest(repo, reference, signal);
      const doc = parseManifest(top.bytes, top.mediaType, `${repo}@${top.digest}`);
      if (doc.kind !== 'index') return top.digest;
      return selectPlatform(doc, `linux/${arch}`, `${repo}@${top.digest}`).digest;
    } catch (e) {
      if (isFactoryError(e, 'NOT_FOUND'))
        throw new FactoryError('UPSTREAM_UNAVAILABLE', e.message, { cause: e });
      throw e;
    }
  }

  /** Whether the release of `version` has a build for `arch` (its imager carries `usr/install/<arch>/`). */
  async hasArch(version: string, arch: Arch, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.inputs(version, arch, signal);
      return true;
    } catch (e) {
      if (isFactoryError(e) && e.cause instanceof ArchMissing) return false;
      throw e;
    }
  }

  /**
   * Verified local kernel/initramfs/EFI stubs of `version` for `arch`, extracted once. With
   * `imagerDigest` (from {@link pin}) exactly that imager manifest is read, so the files match a
   * cache key computed earlier even if the tag moved in between.
   */
  async inputs(
    version: string,
    arch: Arch,
    signal?: AbortSignal,
    imagerDigest?: string,
  ): Promise<ReleaseInputs> {
    const digest = imagerDigest ?? (await this.pin(version, signal));
    const key = `${digest}/${arch}`;
    const ready = this.#verifiedInputs.get(key);
    if (ready) return this.#disk.touch(dirname(ready.kernel)).then(() => ({ ...ready, version }));
    const inputs = await this.#inputFlight.do(key, async () => {
      const image = await this.pullImage(this.#o.components.imager, digest, 'amd64', signal);
      const dir = join(this.#o.cacheDir, 'artifacts', image.digest.replace(':', '-'), arch);
      let found = await this.#loadInputs(dir, version, arch, image.digest);
      if (!found) {
        await this.#extractInputs(image, arch, dir);
        found = await this.#loadInputs(dir, version, arch, image.digest);
        if (!found)
          throw new FactoryError(
            'INTERNAL',
            `inputs of ${version}/${arch} failed verification right after extraction`,
          );
      }
      this.#verifiedInputs.set(key, found);
      await this.#disk.touch(dir);
      await this.#evict();
      return found;
    });
    return { ...inputs, version };
  }

  async #extractInputs(image: PulledImage, arch: Arch, dir: string): Promise<void> {
    const tmp = `${dir}${tempTag()}`;
    try {
      await extractLayers(image.layers, tmp, [`usr/install/${arch}/*`]);
      const src = join(tmp, 'usr', 'install', arch);
      const present = new Set(await readdir(src).catch(() => [] as string[]));
      if (present.size === 0) {
        throw new FactoryError(
          'UPSTREAM_UNAVAILABLE',
          `imager image ${image.repository}@${image.digest} has no usr/install/${arch}/: the release has no ${arch} build`,
          { cause: new ArchMissing(arch) },
        );
      }
      for (const required of ['vmlinuz', 'initramfs.xz']) {
        if (!present.has(required)) {
          throw new FactoryError(
            'UPSTREAM_UNAVAILABLE',
            `imager image ${image.repository}@${image.digest} has no usr/install/${arch}/${required}`,
          );
        }
      }
      // A release whose initramfs is not one must fail here, naming it, not deep inside a build.
      await checkInitramfs(
        join(src, 'initramfs.xz'),
        `imager image ${image.repository}@${image.digest}: usr/install/${arch}/initramfs.xz`,
      );
      const sums: Record<string, string> = {};
      for (const f of INPUT_FILES) if (present.has(f)) sums[f] = await sha256File(join(src, f));
      await writeFile(
        join(src, 'inputs.json'),
        JSON.stringify({ imager: image.digest, sha256: sums }, null, 2),
      );
      await rm(dir, { recursive: true, force: true });
      await mkdir(join(dir, '..'), { recursive: true });
      await rename(src, dir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  async #loadInputs(
    dir: string,
    version: string,
    arch: Arch,
    imagerDigest: string,
  ): Promise<ReleaseInputs | undefined> {
    let meta: { imager?: string; sha256?: Record<string, string> };
    try {
      meta = JSON.parse(await readFile(join(dir, 'inputs.json'), 'utf8')) as typeof meta;
    } catch {
      return undefined;
    }
    const sums = meta.sha256 ?? {};
    for (const [file, sum] of Object.entries(sums)) {
      const path = join(dir, file);
      const ok = (await stat(path).catch(() => undefined)) && (await sha256File(path)) === sum;
      if (!ok) {
        this.#log.error({ dir, file }, 'cached release input failed verification; re-extracting');
        await rm(dir, { recursive: true, force: true });
        return undefined;
      }
    }
    if (!sums['vmlinuz'] || !sums['initramfs.xz']) return undefined;
    return {
      version,
      arch,
      imagerDigest,
      kernel: join(dir, 'vmlinuz'),
      initramfs: join(dir, 'initramfs.xz'),
      systemdStub: sums['systemd-stub.efi'] ? join(dir, 'systemd-stub.efi') : undefined,
      systemdBoot: sums['systemd-boot.efi'] ? join(dir, 'systemd-boot.efi') : undefined,
      sha256: sums,
    };
  }
}
