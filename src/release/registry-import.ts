/**
 * Air-gapped import into a registry: pushes every tag of every OCI layout in a bundle to
 * `<registry>/<namespace>/<repo>:<tag>`, blobs first, child manifests before their index, with
 * digests preserved byte for byte (catalogs pin `@sha256:` digests).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OciClient } from '../oci/index.js';
import { parseManifest } from '../oci/manifest.js';
import { findLayouts, type BundleRepo } from './layout-import.js';
import { LayoutImageSource } from './layout-source.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

/** Pushes the bundle at `bundleRoot` into `registry` (under `namespace`, if any). */
export async function importIntoRegistry(
  client: OciClient,
  bundleRoot: string,
  registry: string,
  namespace: string,
): Promise<BundleRepo[]> {
  const src = new LayoutImageSource(bundleRoot);
  const result: BundleRepo[] = [];
  for (const repo of await findLayouts(bundleRoot)) {
    const target = [registry, namespace, repo].filter((x) => x !== '').join('/');
    const pushed = new Set<string>();
    const pushTree = async (digest: string): Promise<{ mediaType: string; bytes: Buffer }> => {
      const m = await src.getManifest(repo, digest);
      const doc = parseManifest(m.bytes, m.mediaType, `${repo}@${digest}`);
      if (!pushed.has(digest)) {
        if (doc.kind === 'index') {
          for (const child of doc.manifests) {
            const c = await pushTree(child.digest);
            await client.pushManifest(target, child.digest, c.bytes, c.mediaType);
          }
        } else {
          for (const blob of [doc.config, ...doc.layers]) {
            const [alg, hex] = blob.digest.split(':') as [string, string];
            await client.pushBlob(
              target,
              { path: join(bundleRoot, repo, 'blobs', alg, hex) },
              { digest: blob.digest },
            );
          }
        }
        pushed.add(digest);
      }
      return { mediaType: m.mediaType, bytes: m.bytes };
    };
    const index = JSON.parse(await readFile(join(bundleRoot, repo, 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    const tags: string[] = [];
    for (const entry of index.manifests) {
      const tag = entry.annotations?.[REF_NAME];
      const top = await pushTree(entry.digest);
      await client.pushManifest(target, tag ?? entry.digest, top.bytes, top.mediaType);
      if (tag) tags.push(tag);
    }
    result.push({ repo, tags });
  }
  return result;
}
