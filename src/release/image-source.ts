/**
 * Where release images are read from: a registry (through the OCI client) or an OCI image layout
 * directory (air-gapped). Repositories are named without registry host (`siderolabs/imager`).
 */

/** A fetched manifest: raw bytes (digest verified), its media type and digest. */
export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

/** Read-only access to the images of one release origin. */
export interface ImageSource {
  /** Human-readable origin for messages (`registry 127.0.0.1:5000`, `OCI layout /mnt/release`). */
  readonly description: string;
  /** All tags of a repository (empty when the repository does not exist). */
  listTags(repo: string, signal?: AbortSignal): Promise<string[]>;
  /** A manifest by tag or digest; NOT_FOUND when absent. */
  getManifest(repo: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest>;
  /**
   * Copies a blob to `dest` atomically after verifying its digest (and `size`, when the descriptor
   * gave one: a longer body is cut off, not written out); nothing is kept on mismatch.
   */
  fetchBlob(repo: string, digest: string, dest: string, signal?: AbortSignal, size?: number): Promise<void>;
}
