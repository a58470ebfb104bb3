/**
 * Where installer images live, behind one interface: the factory's own store (local mode,
 * `local-backing.ts`) or an external registry (scale mode, `external-backing.ts`). The service
 * (`installer-images.ts`) decides what to build and whether an index can be reused; a backing only
 * reads, writes and tells clients where to go.
 */
import { Readable } from 'node:stream';
import type { ArchiveImage } from '../../builders/formats/docker-archive.js';
import type { CachedAsset } from '../../cache/asset-cache.js';
import type { BuiltManifest, SignatureImage } from '../../oci/index.js';
import type { Arch } from '../../profile/asset-request.js';
import type { LayerLocator } from './store.js';

/** Where clients are sent, or what they get. */
export type RegistryAnswer =
  | { readonly kind: 'manifest'; readonly bytes: Buffer; readonly digest: string; readonly mediaType: string }
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'blob'; readonly digest: string; readonly asset: CachedAsset };

/** One arch of a built installer image. */
export interface BuiltArch {
  readonly arch: Arch;
  /** Cache key of the installer asset. */
  readonly key: string;
  readonly asset: CachedAsset;
  readonly archive: ArchiveImage;
  readonly manifest: BuiltManifest;
}

/** Everything one tag publishes. */
export interface Publication {
  /** `<image>/<schematic>` (canonical image name). */
  readonly repo: string;
  readonly version: string;
  readonly image: string;
  readonly schematic: string;
  readonly arches: readonly BuiltArch[];
  readonly index: BuiltManifest;
  readonly signature: SignatureImage;
  /** Reads the stored signature back and checks it (before the tag is written). */
  verify(): Promise<boolean>;
}

/** Turns a layer record into the asset holding its bytes (rebuilding it when it was evicted). */
export type LayerResolver = (locator: LayerLocator) => Promise<CachedAsset>;

/** The storage side of the registry frontend. */
export interface InstallerBacking {
  /** The manifest `repo:tag` points at, or undefined. */
  readTag(
    repo: string,
    tag: string,
    signal?: AbortSignal,
  ): Promise<{ bytes: Buffer; digest: string } | undefined>;
  /** A small blob (a signature payload), or undefined. */
  readBlob(repo: string, digest: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer | undefined>;
  /** The signature identity (`registry/repository`) of `repo`. */
  identity(repo: string): string;
  /** Writes (or pushes) blobs, manifests, the index and its signature, then the tag. */
  publish(p: Publication): Promise<void>;
  /** How a client gets the index `digest` of `repo`. */
  answerIndex(repo: string, digest: string, bytes: Buffer, mediaType: string): RegistryAnswer;
  /** A manifest by digest or by a tag that is no version (a signature tag); `what` names it. */
  manifest(repo: string, reference: string, what: string): Promise<RegistryAnswer>;
  /** A blob by digest; `what` names it in errors. */
  blob(repo: string, digest: string, what: string, resolve: LayerResolver): Promise<RegistryAnswer>;
}

/** A byte range of a cached asset seen as an asset of its own (a layer inside an installer archive). */
export function rangeOf(asset: CachedAsset, offset: number, size: number, digest: string): CachedAsset {
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
    ...(asset.localFile
      ? {
          localFile: async () => {
            const f = await asset.localFile?.();
            return f === undefined ? undefined : { path: f.path, offset: f.offset + offset };
          },
        }
      : {}),
  };
}

/** Bytes in memory seen as an asset (configs, signature payloads). */
export function bytesAsset(bytes: Buffer, digest: string): CachedAsset {
  return {
    key: digest,
    size: bytes.length,
    sha256: digest.slice('sha256:'.length),
    sha512: '',
    open: (r) => Promise.resolve(Readable.from([r ? bytes.subarray(r.start, r.end + 1) : bytes])),
  };
}
