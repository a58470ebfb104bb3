/**
 * The `/image/:schematic/:version/:path` grammar (image-factory §3.1, HEAD `ParseFromPath`):
 * first matching rule wins; error texts are upstream's, prefixed like the upstream handler
 * (`error parsing profile from path: …`) because the HTTP layer sends the message as the body.
 *
 * One deliberate difference: upstream does not check platform names (an unknown one fails later
 * with a 500); we reject it here with a 400 that names the platform and lists the valid ones.
 * The check runs after upstream's own checks, so every upstream 400 keeps its exact text.
 */
import { FactoryError } from '../errors.js';
import type { Arch, AssetRequest, Compression, DiskFormat } from './asset-request.js';
import { isKnownBoard } from './boards.js';
import { goQuote } from './go-quote.js';
import { diskImageDefaults, findPlatform, platformNames } from './platforms.js';

/** Prefix of every path error message (upstream handler wording). */
export const PATH_ERROR_PREFIX = 'error parsing profile from path: ';

function pathError(reason: string): FactoryError {
  return new FactoryError('PATH_INVALID', `${PATH_ERROR_PREFIX}${reason}`);
}

/** Arch names in paths; iPXE's `${buildarch}` values map to amd64 (https://ipxe.org/cfg/buildarch). */
const ARCH_ALIASES: Readonly<Record<string, Arch>> = {
  amd64: 'amd64',
  arm64: 'arm64',
  x86_64: 'amd64',
  i386: 'amd64',
};

/** Compression suffixes, checked in this order (`.tar.gz` before `.gz`). */
const COMPRESSION_SUFFIXES: readonly (readonly [suffix: string, compression: Compression])[] = [
  ['.tar.gz', 'tar.gz'],
  ['.gz', 'gz'],
  ['.xz', 'xz'],
  ['.zst', 'zst'],
];

/** Disk format suffixes, checked in this order; qcow2 gets default qemu-img options. */
const DISK_FORMAT_SUFFIXES: readonly (readonly [suffix: string, format: DiskFormat, options: string])[] = [
  ['.raw', 'raw', ''],
  ['.qcow2', 'qcow2', 'cluster_size=8k'],
  ['.vhd', 'vhd', ''],
  ['.ova', 'ova', ''],
];

function cutPrefix(s: string, prefix: string): string | undefined {
  return s.startsWith(prefix) ? s.slice(prefix.length) : undefined;
}

function cutSuffix(s: string, suffix: string): string | undefined {
  return s.endsWith(suffix) ? s.slice(0, s.length - suffix.length) : undefined;
}

function parseArch(s: string): Arch {
  const arch = Object.hasOwn(ARCH_ALIASES, s) ? ARCH_ALIASES[s] : undefined;
  if (arch === undefined) throw pathError(`invalid architecture: ${goQuote(s)}`);
  return arch;
}

function checkPlatform(platform: string): string {
  if (findPlatform(platform) === undefined) {
    throw pathError(`unknown platform ${goQuote(platform)}; valid platforms: ${platformNames().join(', ')}`);
  }
  return platform;
}

/** `<platform>-<arch>[-secureboot]` → parts (upstream `parsePlatformArch`, then our platform check). */
function parsePlatformArch(text: string): { platform: string; arch: Arch; secureBoot: boolean } {
  const withoutSb = cutSuffix(text, '-secureboot');
  const s = withoutSb ?? text;
  const dash = s.indexOf('-');
  if (dash === -1) throw pathError(`invalid platform-arch: ${goQuote(s)}`);
  let platform = s.slice(0, dash);
  let rest = s.slice(dash + 1);
  // The one platform name with a dash in it.
  if (platform === 'digital' && rest.startsWith('ocean-')) {
    platform = 'digital-ocean';
    rest = rest.slice('ocean-'.length);
  }
  const arch = parseArch(rest);
  return { platform: checkPlatform(platform), arch, secureBoot: withoutSb !== undefined };
}

/**
 * `metal-<board>-arm64`: the original Image Service's board segment (a known board only), which
 * from Talos 1.7 means the board's overlay; anything else keeps upstream's error.
 */
function parseBoardPath(text: string): { board: string; secureBoot: boolean } | undefined {
  const withoutSb = cutSuffix(text, '-secureboot');
  const rest = cutPrefix(withoutSb ?? text, 'metal-');
  const board = rest === undefined ? undefined : cutSuffix(rest, '-arm64');
  if (board === undefined || !isKnownBoard(board)) return undefined;
  return { board, secureBoot: withoutSb !== undefined };
}

function parseDiskImage(path: string): AssetRequest {
  let rest = path;
  let compression: Compression = 'none';
  for (const [suffix, c] of COMPRESSION_SUFFIXES) {
    const cut = cutSuffix(rest, suffix);
    if (cut !== undefined) {
      rest = cut;
      compression = c;
      break;
    }
  }
  const format = DISK_FORMAT_SUFFIXES.find(([suffix]) => rest.endsWith(suffix));
  if (format === undefined) throw pathError(`invalid profile path: ${goQuote(rest)}`);
  const [suffix, diskFormat, pathOptions] = format;
  const target = rest.slice(0, rest.length - suffix.length);
  const board = parseBoardPath(target);
  const { platform, arch, secureBoot } = board
    ? { platform: 'metal', arch: 'arm64' as const, secureBoot: board.secureBoot }
    : parsePlatformArch(target);
  const { diskSizeMiB, formatOptions } = diskImageDefaults(findPlatform(platform), pathOptions);
  return {
    kind: 'image',
    platform,
    arch,
    secureBoot,
    image: { diskFormat, formatOptions, compression, diskSizeMiB, ...(board ? { board: board.board } : {}) },
  };
}

/** Parses an asset path (after checksum/signature suffix stripping) into a typed request. */
export function parseAssetPath(path: string): AssetRequest {
  let rest = cutPrefix(path, 'kernel-');
  if (rest !== undefined)
    return { kind: 'kernel', platform: 'metal', arch: parseArch(rest), secureBoot: false };

  rest = cutPrefix(path, 'cmdline-');
  if (rest !== undefined) return { kind: 'cmdline', ...parsePlatformArch(rest) };

  // `initramfs-<x>` without `.xz` is not an initramfs: it falls through to the later rules.
  rest = cutPrefix(path, 'initramfs-');
  const initramfsArch = rest === undefined ? undefined : cutSuffix(rest, '.xz');
  if (initramfsArch !== undefined) {
    return { kind: 'initramfs', platform: 'metal', arch: parseArch(initramfsArch), secureBoot: false };
  }

  rest = cutSuffix(path, '.iso');
  if (rest !== undefined) return { kind: 'iso', ...parsePlatformArch(rest) };

  rest = cutSuffix(path, '-uki.efi');
  if (rest !== undefined) return { kind: 'uki', ...parsePlatformArch(rest) };

  rest = cutPrefix(path, 'installer-');
  const installer = rest === undefined ? undefined : cutSuffix(rest, '.tar');
  if (installer !== undefined) {
    const arch = cutSuffix(installer, '-secureboot');
    return {
      kind: 'installer',
      platform: 'metal',
      arch: parseArch(arch ?? installer),
      secureBoot: arch !== undefined,
    };
  }

  // `<platform>-installer-<arch>[-secureboot].tar`, cut at the FIRST `-installer-`.
  const cut = path.indexOf('-installer-');
  if (cut !== -1) {
    const tail = cutSuffix(path.slice(cut + '-installer-'.length), '.tar');
    if (tail !== undefined)
      return { kind: 'installer', ...parsePlatformArch(`${path.slice(0, cut)}-${tail}`) };
  }

  return parseDiskImage(path);
}

/** Kinds of sidecar request a path suffix can ask for instead of the asset itself. */
export type ChecksumAlgorithm = 'sha256' | 'sha512';

/** A path with its sidecar suffix removed. */
export interface SplitAssetPath {
  /** The asset path proper (what `parseAssetPath` and the default filename use). */
  readonly path: string;
  /** Set when the request is for `<asset>.sha256` / `<asset>.sha512`. */
  readonly checksum?: ChecksumAlgorithm;
  /** True when the request is for `<asset>.sigstore.json`. */
  readonly signature: boolean;
}

/** Strips `.sigstore.json`, or else one of `.sha256`/`.sha512` (image-factory §1.3.2 step 1). */
export function splitAssetSuffixes(path: string): SplitAssetPath {
  const unsigned = cutSuffix(path, '.sigstore.json');
  if (unsigned !== undefined) return { path: unsigned, signature: true };
  for (const algorithm of ['sha256', 'sha512'] as const) {
    const stripped = cutSuffix(path, `.${algorithm}`);
    if (stripped !== undefined) return { path: stripped, checksum: algorithm, signature: false };
  }
  return { path, signature: false };
}

/** The download filename: a non-empty `?filename=` override, else the suffix-stripped path. */
export function assetFilename(strippedPath: string, override?: string): string {
  return override !== undefined && override !== '' ? override : strippedPath;
}

/** Formats the canonical path of a request (inverse of {@link parseAssetPath}). */
export function formatAssetPath(req: AssetRequest): string {
  const sb = req.secureBoot ? '-secureboot' : '';
  const platformArch = `${req.platform}-${req.arch}${sb}`;
  switch (req.kind) {
    case 'kernel':
      return `kernel-${req.arch}`;
    case 'initramfs':
      return `initramfs-${req.arch}.xz`;
    case 'cmdline':
      return `cmdline-${platformArch}`;
    case 'iso':
      return `${platformArch}.iso`;
    case 'uki':
      return `${platformArch}-uki.efi`;
    case 'installer':
      return req.platform === 'metal'
        ? `installer-${req.arch}${sb}.tar`
        : `${req.platform}-installer-${req.arch}${sb}.tar`;
    case 'image': {
      const compression = req.image.compression === 'none' ? '' : `.${req.image.compression}`;
      return `${platformArch}.${req.image.diskFormat}${compression}`;
    }
  }
}
