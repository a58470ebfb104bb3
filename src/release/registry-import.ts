/**
 * Air-gapped import into a registry: pushes every tag of every OCI layout in a bundle to
 * `<registry>/<namespace>/<repo>:<tag>`, blobs first, child manifests before their index, with
 * digests preserved byte for byte (catalogs pin `@sha256:` digests).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OciClient } from '../oci/index.js';
import { findLayouts, manifestTree, type BundleRepo, type TreeNode } from './layout-import.js';
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
    // Blobs first, child manifests by digest before their index; the top manifest gets the tag.
    const pushTree = async (digest: string): Promise<TreeNode> => {
      const nodes = await manifestTree(src, repo, digest);
      for (const node of nodes) {
        if (pushed.has(node.digest)) continue;
        for (const blob of node.blobs) {
          const [alg, hex] = blob.split(':') as [string, string];
          await client.pushBlob(
            target,
            { path: join(bundleRoot, repo, 'blobs', alg, hex) },
            { digest: blob },
          );
        }
        if (node.digest !== digest)
          await client.pushManifest(target, node.digest, node.bytes, node.mediaType);
        pushed.add(node.digest);
      }
      return nodes[nodes.length - 1] as TreeNode;
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
