/**
 * How a cached asset is laid out in a registry (spec §6.1): an image tagged with the cache key whose
 * config is the OCI empty JSON and whose single layer is the raw asset (`application/data`). The
 * layer descriptor also carries the asset's sha512 as an annotation, so a reader learns every
 * checksum it serves from the manifest alone.
 */
import {
  buildImageManifest,
  type BuiltManifest,
  EMPTY_CONFIG_DESCRIPTOR,
  type ManifestDocument,
} from '../oci/index.js';

/** Media type of the layer holding the raw asset bytes. */
export const ASSET_LAYER_MEDIA_TYPE = 'application/data';
/** Artifact type of the image (OCI 1.1 wants one when the config is the empty descriptor). */
export const ASSET_ARTIFACT_TYPE = 'application/vnd.image-factory.cached-asset.v1';
/** Layer annotation carrying the lowercase hex sha512 of the asset. */
export const SHA512_ANNOTATION = 'dev.image-factory.sha512';

/** What a cache entry's manifest says about its asset. */
export interface AssetEntry {
  /** Layer digest, `sha256:<hex>`. */
  readonly digest: string;
  readonly sha256: string;
  readonly sha512: string;
  readonly size: number;
}

/** Builds the manifest of a cache entry for an asset whose layer is already pushed. */
export function buildAssetManifest(asset: { sha256: string; sha512: string; size: number }): BuiltManifest {
  return buildImageManifest({
    config: EMPTY_CONFIG_DESCRIPTOR,
    layers: [
      {
        mediaType: ASSET_LAYER_MEDIA_TYPE,
        digest: `sha256:${asset.sha256}`,
        size: asset.size,
        annotations: { [SHA512_ANNOTATION]: asset.sha512 },
      },
    ],
    artifactType: ASSET_ARTIFACT_TYPE,
  });
}

/**
 * Reads the asset descriptor out of a cache entry's manifest, or explains why the manifest is not a
 * usable entry (wrong kind, layer count or media type, missing or malformed sha512).
 */
export function readAssetEntry(doc: ManifestDocument): AssetEntry | { readonly invalid: string } {
  if (doc.kind !== 'manifest') return { invalid: `is an index (${doc.mediaType}), not an image manifest` };
  if (doc.layers.length !== 1) return { invalid: `has ${doc.layers.length} layers, expected exactly 1` };
  const layer = doc.layers[0]!;
  if (layer.mediaType !== ASSET_LAYER_MEDIA_TYPE) {
    return { invalid: `layers[0].mediaType is "${layer.mediaType}", expected "${ASSET_LAYER_MEDIA_TYPE}"` };
  }
  const hex = /^sha256:([a-f0-9]{64})$/.exec(layer.digest)?.[1];
  if (hex === undefined) return { invalid: `layers[0].digest ${layer.digest} is not a sha256 digest` };
  const sha512 = layer.annotations?.[SHA512_ANNOTATION];
  if (sha512 === undefined) return { invalid: `layers[0].annotations lacks "${SHA512_ANNOTATION}"` };
  if (!/^[a-f0-9]{128}$/.test(sha512)) {
    return { invalid: `layers[0].annotations["${SHA512_ANNOTATION}"] is not a lowercase hex sha512` };
  }
  return { digest: layer.digest, sha256: hex, sha512, size: layer.size };
}
