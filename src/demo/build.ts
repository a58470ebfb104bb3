/**
 * buildDemoReleases: builds small bootable "Talos-like" releases from real Debian parts and
 * publishes them as OCI image layouts, one directory per repository under `<root>/siderolabs/`:
 * imager, installer / installer-base, extensions (catalog), one repo per extension, overlays
 * (catalog) and the sbc-fixture overlay. Results are cached by a hash of this builder's source and
 * its inputs, built in a temp dir and renamed into place.
 */
import { chmod, copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { stringify as yamlStringify } from 'yaml';
import { FactoryError } from '../errors.js';
import {
  DebianPackages,
  type DebArch,
  type DebianFile,
  type DebianKernel,
  type DebianSystemdBoot,
} from './debian.js';
import { copyTree, fixtureCacheKey, pruneCache, touchEntry, treeBytes, withLock } from './cache.js';
import {
  EXTENSION_MODULE,
  extensionTag,
  FIXTURE_EXTENSIONS,
  stageExtension,
  type ExtensionFile,
} from './extensions.js';
import { sha256File } from './hash.js';
import { BASE_FIRMWARE, buildInitramfs } from './initramfs.js';
import { createLimiter } from './limit.js';
import {
  NAMESPACE,
  UPSTREAM_REGISTRY,
  type FixtureArtifacts,
  type FixtureExtensionRelease,
  type FixtureKernel,
  type FixtureManifest,
  type FixtureRepo,
  type FixtureTag,
  type FixtureVersion,
} from './manifest.js';
import { OciLayoutWriter, type ContainerConfig, type Descriptor, type MediaFlavor } from './oci-layout.js';
import { FIXTURE_OVERLAY, stageOverlay } from './overlay.js';
import { BASE_MODULES, buildRootfs } from './rootfs.js';
import { buildLayer, type LayerFile } from './tar-layer.js';
import {
  DEFAULT_FIXTURE_VERSIONS,
  satisfiesConstraint,
  versionSpec,
  type FixtureVersionSpec,
} from './versions.js';

/** Name of the manifest file at the fixture root. */
export const MANIFEST_FILE = 'fixture-manifest.json';

/** SOURCE_DATE_EPOCH of every fixture file (2023-11-14). */
const EPOCH = 1_700_000_000;

/** Options for {@link buildDemoReleases}. */
export interface BuildFixtureOptions {
  /** Copy the result here (blobs hard-linked); without it the cache directory itself is returned. */
  outDir?: string;
  /** Talos tags to build (default {@link DEFAULT_FIXTURE_VERSIONS}). */
  versions?: readonly string[];
  /** Architectures (default both; amd64 alone is much faster to build cold). */
  arches?: readonly DebArch[];
  /** Built sets, by cache key (`<cacheRoot>/<key>/`); shared safely by concurrent processes. */
  cacheRoot: string;
  /** Debian packages (downloads); default: a DebianPackages cache at `<cacheRoot>/debs`. */
  debs?: DebianPackages;
  /** Rebuild even when the cache has this key. */
  force?: boolean;
  log?: (line: string) => void;
}

/** Debian inputs of one architecture. */
interface ArchInputs {
  arch: DebArch;
  kernel: DebianKernel;
  busybox: DebianFile;
  sdboot: DebianSystemdBoot;
}

/** Builds (or reuses from the cache) the fixture releases and returns their manifest. */
export async function buildDemoReleases(opts: BuildFixtureOptions): Promise<FixtureManifest> {
  const log = opts.log ?? (() => undefined);
  const tags = [...(opts.versions ?? DEFAULT_FIXTURE_VERSIONS)];
  if (tags.length === 0) throw new FactoryError('INTERNAL', 'buildDemoReleases: versions is empty');
  if (new Set(tags).size !== tags.length)
    throw new FactoryError('INTERNAL', `buildDemoReleases: duplicate versions in ${tags.join(',')}`);
  const specs = tags.map(versionSpec);
  const arches = (['amd64', 'arm64'] as const).filter((a) => (opts.arches ?? ['amd64', 'arm64']).includes(a));
  if (arches.length === 0)
    throw new FactoryError('INTERNAL', 'buildDemoReleases: arches must contain amd64 and/or arm64');

  const debs = opts.debs ?? new DebianPackages({ cacheDir: path.join(opts.cacheRoot, 'debs'), log });
  await debs.preload(arches);
  const inputs: ArchInputs[] = [];
  for (const arch of arches) {
    inputs.push({
      arch,
      kernel: await debs.kernel(arch),
      busybox: await debs.busybox(arch),
      sdboot: await debs.systemdBoot(arch),
    });
  }
  const key = await fixtureCacheKey({
    versions: tags,
    arches,
    debs: inputs.map((i) => [
      i.arch,
      `${i.kernel.pkg}=${i.kernel.debVersion}`,
      `busybox=${i.busybox.debVersion}`,
      `sd-boot=${i.sdboot.debVersion}`,
    ]),
  });
  const cacheRoot = opts.cacheRoot;
  const cached = path.join(cacheRoot, key);
  const manifestFile = path.join(cached, MANIFEST_FILE);
  if (opts.force || !existsSync(manifestFile)) {
    await withLock(path.join(cacheRoot, `.lock-${key}`), async () => {
      if (!opts.force && existsSync(manifestFile)) return;
      const tmp = path.join(cacheRoot, `.tmp-${key}-${process.pid}`);
      const work = path.join(cacheRoot, `.work-${key}-${process.pid}`);
      await rm(tmp, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
      try {
        const t0 = Date.now();
        log(`building fixtures ${key} (${tags.join(', ')}; ${arches.join(', ')})`);
        const manifest = await buildInto(tmp, work, specs, inputs, key, log);
        manifest.build = {
          durationMs: Date.now() - t0,
          bytes: await treeBytes(tmp),
          builtAt: new Date().toISOString(),
        };
        await writeFile(path.join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
        if (existsSync(cached)) await rm(cached, { recursive: true, force: true });
        await rename(tmp, cached);
        log(`fixtures ${key} built in ${manifest.build.durationMs} ms`);
        // Keep a few sets (amd64-only and full, a few branches sharing a cache) but not one per builder edit.
        await pruneCache(cacheRoot, MANIFEST_FILE, 5, key);
      } finally {
        // A failed clean-up must not hide the build's own error.
        await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
        await rm(work, { recursive: true, force: true }).catch(() => undefined);
      }
    });
  }
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as FixtureManifest;
  await touchEntry(manifestFile);
  if (opts.outDir === undefined) return { ...manifest, root: cached };
  // Replace (not merge with) a fixture set already in outDir, so no stale tags or blobs survive.
  for (const entry of [NAMESPACE, 'files', MANIFEST_FILE]) {
    await rm(path.join(opts.outDir, entry), { recursive: true, force: true });
  }
  await copyTree(cached, opts.outDir);
  return { ...manifest, root: path.resolve(opts.outDir) };
}

/**
 * Like Promise.all, but waits for every task before rejecting with the first failure: tasks still
 * writing into the work dir while it is removed would hide that failure behind ENOTEMPTY.
 */
async function settleAll<T>(tasks: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Loads the manifest of a fixture root written by {@link buildDemoReleases} (e.g. by the CLI). */
export async function loadFixtureManifest(root: string): Promise<FixtureManifest> {
  const manifest = JSON.parse(await readFile(path.join(root, MANIFEST_FILE), 'utf8')) as FixtureManifest;
  return { ...manifest, root: path.resolve(root) };
}

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const TALOS_SOURCE = 'https://github.com/siderolabs/talos';

/** Stand-in for Talos' /bin/installer and /bin/imager: the fixtures only need the files to exist. */
function toolScript(tool: string): string {
  return `#!/bin/sh\n# Fixture stand-in for Talos' /bin/${tool}.\necho "fixture ${tool} \${VERSION:-unknown} (\${TARGETARCH:-unknown}): not the real one" >&2\nexit 1\n`;
}

/** The build proper, writing the fixture tree into `root` and scratch files into `work`. */
async function buildInto(
  root: string,
  work: string,
  specs: FixtureVersionSpec[],
  inputs: ArchInputs[],
  key: string,
  log: (line: string) => void,
): Promise<FixtureManifest> {
  const limit = createLimiter(2);
  const arches = inputs.map((i) => i.arch);
  const writers = new Map<string, OciLayoutWriter>();
  const tagRecords = new Map<string, FixtureTag[]>();
  const writer = async (repo: string): Promise<OciLayoutWriter> => {
    let w = writers.get(repo);
    if (!w) {
      w = new OciLayoutWriter(path.join(root, NAMESPACE, repo));
      writers.set(repo, w);
      await w.open();
    }
    return w;
  };
  const publish = async (
    repo: string,
    tag: string,
    images: { arch: DebArch; layers: LayerFile[]; config?: ContainerConfig }[],
    flavor: MediaFlavor = 'oci',
  ): Promise<Descriptor> => {
    const { index, manifests } = await (await writer(repo)).putMultiArch(tag, images, flavor);
    const platforms: Partial<Record<DebArch, string>> = {};
    images.forEach((img, i) => (platforms[img.arch] = manifests[i]!.digest));
    const list = tagRecords.get(repo) ?? [];
    list.push({ tag, digest: index.digest, mediaType: index.mediaType, platforms });
    tagRecords.set(repo, list);
    return index;
  };
  const layer = (name: string, stage: (dir: string) => Promise<void>): Promise<LayerFile> =>
    limit(async () => {
      const dir = path.join(work, 'stage', name);
      await mkdir(dir, { recursive: true });
      await stage(dir);
      await mkdir(path.join(work, 'layers'), { recursive: true });
      return buildLayer(dir, path.join(work, 'layers', `${name}.tar.gz`));
    });
  const put = async (dir: string, rel: string, from: string | Buffer, mode = 0o644): Promise<void> => {
    const dest = path.join(dir, rel);
    await mkdir(path.dirname(dest), { recursive: true });
    if (typeof from === 'string') await copyFile(from, dest);
    else await writeFile(dest, from);
    await chmod(dest, mode);
  };

  // Kernel and EFI binaries, extracted copies for tests (one per arch: every version shares them).
  const kernels: Partial<Record<DebArch, FixtureKernel>> = {};
  for (const inp of inputs) {
    const dir = path.join(root, 'files', inp.arch);
    await put(dir, 'vmlinuz', inp.kernel.vmlinuz);
    await put(dir, 'systemd-stub.efi', inp.sdboot.stub);
    await put(dir, 'systemd-boot.efi', inp.sdboot.boot);
    kernels[inp.arch] = {
      arch: inp.arch,
      kver: inp.kernel.kver,
      pkg: inp.kernel.pkg,
      debVersion: inp.kernel.debVersion,
      vmlinuzSha256: await sha256File(inp.kernel.vmlinuz),
      vmlinuzSize: (await stat(inp.kernel.vmlinuz)).size,
    };
  }

  // Base rootfs.sqsh + initramfs for every version and arch.
  log('building base initramfs images');
  const artifacts = new Map<string, FixtureArtifacts>();
  await settleAll(
    specs.flatMap((spec) =>
      inputs.map((inp) =>
        limit(async () => {
          const w = path.join(work, 'base', spec.tag, inp.arch);
          await mkdir(w, { recursive: true });
          const sqsh = path.join(w, 'rootfs.sqsh');
          await buildRootfs({ spec, kernel: inp.kernel, workDir: w, outFile: sqsh, epoch: EPOCH });
          const rel = path.join('files', spec.tag, inp.arch, 'initramfs.xz');
          await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
          await buildInitramfs({
            spec,
            kernel: inp.kernel,
            busybox: inp.busybox.path,
            rootfsSqsh: sqsh,
            workDir: w,
            outFile: path.join(root, rel),
            epoch: EPOCH,
          });
          artifacts.set(`${spec.tag}/${inp.arch}`, {
            vmlinuz: path.join('files', inp.arch, 'vmlinuz'),
            initramfs: rel,
            systemdStub: path.join('files', inp.arch, 'systemd-stub.efi'),
            systemdBoot: path.join('files', inp.arch, 'systemd-boot.efi'),
            initramfsSha256: await sha256File(path.join(root, rel)),
            initramfsSize: (await stat(path.join(root, rel))).size,
            initramfsCompression: spec.zstd ? 'zstd' : 'xz',
            rootfsSqshSha256: await sha256File(sqsh),
          });
        }),
      ),
    ),
  );

  // Layers shared by many images.
  log('building image layers');
  const imagerTools = layer('imager-tools', (d) =>
    put(d, 'bin/imager', Buffer.from(toolScript('imager')), 0o755),
  );
  const installerTools = layer('installer-tools', (d) =>
    put(d, 'bin/installer', Buffer.from(toolScript('installer')), 0o755),
  );
  const kernelLayers = inputs.map((inp) =>
    layer(`kernel-${inp.arch}`, async (d) => {
      const dir = `usr/install/${inp.arch}`;
      await put(d, `${dir}/vmlinuz`, inp.kernel.vmlinuz);
      await put(d, `${dir}/systemd-stub.efi`, inp.sdboot.stub);
      await put(d, `${dir}/systemd-boot.efi`, inp.sdboot.boot);
    }),
  );

  // The overlay image (one tag for every Talos version, like the real sbc-* images).
  const overlayFiles: string[] = [];
  const overlayLayers = await settleAll(
    arches.map((arch) =>
      layer(`overlay-${arch}`, async (d) => {
        const files = await stageOverlay(arch, d);
        if (overlayFiles.length === 0)
          overlayFiles.push(...files.map((f) => f.replace(`/${arch}/`, '/<arch>/')));
      }),
    ),
  );
  const overlayIndex = await publish(
    FIXTURE_OVERLAY.repo,
    FIXTURE_OVERLAY.tag,
    arches.map((arch, i) => ({ arch, layers: [overlayLayers[i]!] })),
  );
  const overlayCatalogImage = `${UPSTREAM_REGISTRY}/${NAMESPACE}/${FIXTURE_OVERLAY.repo}:${FIXTURE_OVERLAY.tag}`;

  const versions: FixtureVersion[] = [];
  for (const spec of specs) {
    log(`publishing ${spec.tag}`);
    const tag = spec.tag;
    const envFor = (arch: DebArch): string[] => [
      PATH_ENV,
      `VERSION=${tag}`,
      `TARGETARCH=${arch}`,
      `SOURCE_DATE_EPOCH=${EPOCH}`,
    ];
    const labels = { 'alpha.talos.dev/version': tag, 'org.opencontainers.image.source': TALOS_SOURCE };

    // imager: every arch's usr/install/<arch>/ in each platform image, like the real one.
    const initramfsLayer = layer(`imager-initramfs-${tag}`, async (d) => {
      for (const inp of inputs)
        await put(
          d,
          `usr/install/${inp.arch}/initramfs.xz`,
          path.join(root, artifacts.get(`${tag}/${inp.arch}`)!.initramfs),
        );
    });
    const imagerLayers = [await imagerTools, ...(await settleAll(kernelLayers)), await initramfsLayer];
    const imager = await publish(
      'imager',
      tag,
      arches.map((arch) => ({
        arch,
        layers: imagerLayers,
        config: { Entrypoint: ['/bin/imager'], Env: envFor(arch), Labels: labels },
      })),
    );

    // installer (two layers: tools, then the stock artifacts) or installer-base (one layer).
    const installerRepo = spec.installerBase ? 'installer-base' : 'installer';
    const installerImages = await settleAll(
      inputs.map(async (inp) => {
        const layers = [await installerTools];
        if (!spec.installerBase) {
          layers.push(
            await layer(`installer-artifacts-${tag}-${inp.arch}`, async (d) => {
              const dir = `usr/install/${inp.arch}`;
              await put(d, `${dir}/vmlinuz`, inp.kernel.vmlinuz);
              await put(
                d,
                `${dir}/initramfs.xz`,
                path.join(root, artifacts.get(`${tag}/${inp.arch}`)!.initramfs),
              );
              await put(d, `${dir}/systemd-boot.efi`, inp.sdboot.boot);
              await put(d, `${dir}/systemd-stub.efi`, inp.sdboot.stub);
            }),
          );
        }
        return {
          arch: inp.arch,
          layers,
          config: { Entrypoint: ['/bin/installer'], Env: envFor(inp.arch), Labels: labels },
        };
      }),
    );
    const installer = await publish(
      installerRepo,
      tag,
      installerImages,
      spec.dockerMediaTypes ? 'docker' : 'oci',
    );

    // Extension images and the catalog that pins them.
    const extensions: FixtureExtensionRelease[] = [];
    for (const def of FIXTURE_EXTENSIONS) {
      const etag = extensionTag(def, spec);
      const files: Partial<Record<DebArch, ExtensionFile[]>> = {};
      const images = await settleAll(
        inputs.map(async (inp) => {
          const l = await layer(`ext-${def.name}-${etag}-${inp.arch}`, async (d) => {
            files[inp.arch] = await stageExtension(def, { spec, arch: inp.arch, kernel: inp.kernel }, d);
          });
          return { arch: inp.arch, layers: [l] };
        }),
      );
      const index = await publish(def.name, etag, images);
      extensions.push({
        name: def.name,
        tag: etag,
        digest: index.digest,
        catalogRef: `${UPSTREAM_REGISTRY}/${NAMESPACE}/${def.name}:${etag}@${index.digest}`,
        compatible: satisfiesConstraint(spec, def.compatibility),
        files,
      });
    }
    const imageDigests = extensions.map((e) => `${e.catalogRef}\n`).join('');
    const descriptionsYaml = spec.descriptions
      ? yamlStringify(
          Object.fromEntries(
            extensions.map((e) => {
              const def = FIXTURE_EXTENSIONS.find((d) => d.name === e.name)!;
              return [e.catalogRef, { author: def.author, description: `${def.description}\n` }];
            }),
          ),
        )
      : undefined;
    const catalogLayer = await layer(`extensions-catalog-${tag}`, async (d) => {
      await put(d, 'image-digests', Buffer.from(imageDigests));
      if (descriptionsYaml !== undefined) await put(d, 'descriptions.yaml', Buffer.from(descriptionsYaml));
    });
    const catalog = await publish(
      'extensions',
      tag,
      arches.map((arch) => ({ arch, layers: [catalogLayer] })),
    );

    // Overlays catalog (Talos ≥ 1.7 only).
    let overlaysYaml: string | undefined;
    let overlaysCatalogDigest: string | undefined;
    if (spec.overlays) {
      overlaysYaml = yamlStringify({
        overlays: [{ name: FIXTURE_OVERLAY.name, image: overlayCatalogImage, digest: overlayIndex.digest }],
      });
      const text = overlaysYaml;
      const l = await layer(`overlays-catalog-${tag}`, (d) => put(d, 'overlays.yaml', Buffer.from(text)));
      overlaysCatalogDigest = (
        await publish(
          'overlays',
          tag,
          arches.map((arch) => ({ arch, layers: [l] })),
        )
      ).digest;
    }

    const arts: Partial<Record<DebArch, FixtureArtifacts>> = {};
    for (const arch of arches) arts[arch] = artifacts.get(`${tag}/${arch}`)!;
    versions.push({
      spec,
      imagerDigest: imager.digest,
      installerRepo: `${NAMESPACE}/${installerRepo}`,
      installerDigest: installer.digest,
      installerLayers: spec.installerBase ? 1 : 2,
      extensionsCatalogDigest: catalog.digest,
      imageDigests,
      ...(descriptionsYaml === undefined ? {} : { descriptionsYaml }),
      ...(overlaysCatalogDigest === undefined ? {} : { overlaysCatalogDigest, overlaysYaml: overlaysYaml! }),
      extensions,
      artifacts: arts,
      baseFirmware: spec.baseFirmware ? BASE_FIRMWARE.map((f) => f.path) : [],
    });
  }

  for (const w of writers.values()) await w.save();
  const repos: FixtureRepo[] = [...tagRecords.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, tagList]) => ({
      name: `${NAMESPACE}/${name}`,
      dir: path.join(NAMESPACE, name),
      tags: tagList,
    }));

  return {
    schema: 1,
    root: '.',
    hash: key,
    upstreamRegistry: UPSTREAM_REGISTRY,
    namespace: NAMESPACE,
    arches,
    versions,
    kernels,
    repos,
    extensions: FIXTURE_EXTENSIONS.map((d) => ({
      name: d.name,
      kind: d.kind,
      version: d.version,
      author: d.author,
      description: d.description,
      ...(d.compatibility === undefined ? {} : { compatibility: d.compatibility }),
    })),
    extensionModule: {
      extension: FIXTURE_EXTENSIONS.find((d) => d.kind === 'module')!.name,
      module: EXTENSION_MODULE.name,
      dependsOn: [...EXTENSION_MODULE.dependsOn],
    },
    baseModules: [...BASE_MODULES],
    overlay: {
      name: FIXTURE_OVERLAY.name,
      repo: `${NAMESPACE}/${FIXTURE_OVERLAY.repo}`,
      tag: FIXTURE_OVERLAY.tag,
      digest: overlayIndex.digest,
      kernelArgs: [...FIXTURE_OVERLAY.kernelArgs],
      partitionOffset: FIXTURE_OVERLAY.partitionOffset,
      catalogImage: overlayCatalogImage,
      files: overlayFiles,
    },
    build: { durationMs: 0, bytes: 0, builtAt: '' },
  };
}
