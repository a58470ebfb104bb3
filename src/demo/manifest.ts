/**
 * FixtureManifest: everything a test needs to know about a built set of fixture releases — repos,
 * tags and digests, per-version quirks, the kernel, and the exact files of every extension — so a
 * boot report or a factory response can be compared against it without re-reading the layouts.
 */
import type { DebArch } from './debian.js';
import type { ExtensionFile, ExtensionKind } from './extensions.js';
import type { FixtureVersionSpec } from './versions.js';

/** Registry host written into catalogs (errata E16: catalogs name the upstream host). */
export const UPSTREAM_REGISTRY = 'ghcr.io';
/** Repository namespace of every fixture repo. */
export const NAMESPACE = 'siderolabs';

/** One tag in one repository. */
export interface FixtureTag {
  tag: string;
  /** Digest of what the tag points at (an image index). */
  digest: string;
  mediaType: string;
  /** Per-arch manifest digests inside the index. */
  platforms: Partial<Record<DebArch, string>>;
}

/** One OCI layout directory = one repository. */
export interface FixtureRepo {
  /** `siderolabs/<name>`. */
  name: string;
  /** Layout directory, relative to the fixture root. */
  dir: string;
  tags: FixtureTag[];
}

/** The kernel of one arch (the same Debian kernel backs every fixture version). */
export interface FixtureKernel {
  arch: DebArch;
  kver: string;
  pkg: string;
  debVersion: string;
  vmlinuzSha256: string;
  vmlinuzSize: number;
}

/** Boot artifacts of one version and arch, as found in the imager image under `usr/install/<arch>/`. */
export interface FixtureArtifacts {
  /** Extracted copies for tests, relative to the fixture root. */
  vmlinuz: string;
  initramfs: string;
  systemdStub: string;
  systemdBoot: string;
  initramfsSha256: string;
  initramfsSize: number;
  initramfsCompression: 'xz' | 'zstd';
  rootfsSqshSha256: string;
}

/** One extension as published for one Talos version. */
export interface FixtureExtensionRelease {
  name: string;
  tag: string;
  /** Index digest. */
  digest: string;
  /** `ghcr.io/siderolabs/<name>:<tag>@sha256:…` — the line in `image-digests`. */
  catalogRef: string;
  /** Whether the extension's compatibility constraint admits this Talos version. */
  compatible: boolean;
  /** The `rootfs/` content per arch. */
  files: Partial<Record<DebArch, ExtensionFile[]>>;
}

/** One fixture Talos version. */
export interface FixtureVersion {
  spec: FixtureVersionSpec;
  /** Digest of `imager:<tag>`. */
  imagerDigest: string;
  /** `siderolabs/installer` (two layers) or `siderolabs/installer-base` (one layer). */
  installerRepo: string;
  installerDigest: string;
  installerLayers: number;
  extensionsCatalogDigest: string;
  /** Exact `image-digests` text. */
  imageDigests: string;
  /** Exact `descriptions.yaml` text, when the catalog has one. */
  descriptionsYaml?: string;
  overlaysCatalogDigest?: string;
  /** Exact `overlays.yaml` text, when there is an overlays catalog. */
  overlaysYaml?: string;
  extensions: FixtureExtensionRelease[];
  artifacts: Partial<Record<DebArch, FixtureArtifacts>>;
  /** Firmware the base initramfs itself carries (paths without a leading slash). */
  baseFirmware: string[];
}

/** Static facts about one extension (independent of version). */
export interface FixtureExtensionInfo {
  name: string;
  kind: ExtensionKind;
  version: string;
  author: string;
  description: string;
  compatibility?: string;
}

/** The whole fixture set. */
export interface FixtureManifest {
  schema: 1;
  /** Absolute path of the fixture root (the directory holding `siderolabs/…`). */
  root: string;
  /** Cache key the set was built under. */
  hash: string;
  upstreamRegistry: string;
  namespace: string;
  arches: DebArch[];
  /** Tags in build order (not sorted). */
  versions: FixtureVersion[];
  kernels: Partial<Record<DebArch, FixtureKernel>>;
  repos: FixtureRepo[];
  extensions: FixtureExtensionInfo[];
  /** The module the module extension carries and the base modules it depends on. */
  extensionModule: { extension: string; module: string; dependsOn: string[] };
  /** Modules in every base rootfs (relative to `<modules-root>/<kver>/`). */
  baseModules: string[];
  overlay: {
    name: string;
    repo: string;
    tag: string;
    digest: string;
    kernelArgs: string[];
    partitionOffset: number;
    /** `ghcr.io/siderolabs/sbc-fixture:v0.1.0`, as written in overlays.yaml. */
    catalogImage: string;
    files: string[];
  };
  /** Build facts (informational). */
  build: { durationMs: number; bytes: number; builtAt: string };
}
