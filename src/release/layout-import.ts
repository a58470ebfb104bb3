/**
 * Air-gapped import: copies a release bundle — OCI layouts, one per repository, as a directory or
 * a tarball of one — into the local layout store (merging tags) or pushes it to a registry.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { FactoryError } from '../errors.js';
import { parseManifest } from '../oci/manifest.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { LayoutImageSource } from './layout-source.js';

const run = promisify(execFile);
const REF_NAME = 'org.opencontainers.image.ref.name';

/** One repository layout found in a bundle. */
export interface BundleRepo {
  repo: string;
  tags: string[];
}

/** Finds every OCI layout (a dir with `oci-layout`) below `root`; repo = path relative to root. */
export async function findLayouts(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 6) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    if (entries.some((e) => e.isFile() && e.name === 'oci-layout')) {
      out.push(relative(root, dir));
      return;
    }
    for (const e of entries)
      if (e.isDirectory() && e.name !== 'blobs') await walk(join(dir, e.name), depth + 1);
  };
  await walk(root, 0);
  return out.sort();
}

/** Opens a bundle: a directory as is, or a tarball extracted to a temp dir (cleaned by `close`). */
export async function openBundle(path: string): Promise<{ root: string; close: () => Promise<void> }> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new FactoryError('NOT_FOUND', `import: ${path} does not exist`);
  if (st.isDirectory()) return { root: path, close: async () => undefined };
  const dir = await mkdtemp(join(tmpdir(), 'if-import-'));
  try {
    await run('tar', ['-x', '-a', '-f', path, '-C', dir, '--no-same-owner', '--no-same-permissions'], {
      maxBuffer: 1 << 20,
    });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw new FactoryError(
      'IMPORT_INVALID',
      `import: ${path} is neither a directory nor a readable tarball: ${(e as Error).message}`,
    );
  }
  return { root: dir, close: () => rm(dir, { recursive: true, force: true }) };
}

interface IndexJson {
  schemaVersion: number;
  mediaType?: string;
  manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[];
}

/** One manifest of an image tree: its bytes and the blobs (config, layers) it references. */
export interface TreeNode {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  blobs: string[];
}

/**
 * The manifests reachable from `digest` (an index's children, then the index), children before
 * parents, each once — the order a registry accepts them in.
 */
export async function manifestTree(
  src: LayoutImageSource,
  repo: string,
  digest: string,
): Promise<TreeNode[]> {
  const out: TreeNode[] = [];
  const seen = new Set<string>();
  const visit = async (d: string): Promise<void> => {
    if (seen.has(d)) return;
    seen.add(d);
    const m = await src.getManifest(repo, d);
    const doc = parseManifest(m.bytes, m.mediaType, `${repo}@${d}`);
    if (doc.kind === 'index') for (const child of doc.manifests) await visit(child.digest);
    const blobs = doc.kind === 'index' ? [] : [doc.config, ...doc.layers].map((b) => b.digest);
    out.push({ digest: d, mediaType: m.mediaType, bytes: m.bytes, blobs });
  };
  await visit(digest);
  return out;
}

/**
 * Merges every layout of `bundleRoot` into the layout store at `storeRoot`: blobs copied with
 * verification (existing ones kept), tags added or replaced, index.json written atomically.
 */
export async function importIntoLayoutStore(bundleRoot: string, storeRoot: string): Promise<BundleRepo[]> {
  const src = new LayoutImageSource(bundleRoot);
  const dst = new LayoutImageSource(storeRoot);
  const repos = await findLayouts(bundleRoot);
  if (repos.length === 0)
    throw new FactoryError('IMPORT_INVALID', `import: no OCI layout found in ${bundleRoot}`);
  const result: BundleRepo[] = [];
  for (const repo of repos) {
    const srcIndex = JSON.parse(await readFile(join(bundleRoot, repo, 'index.json'), 'utf8')) as IndexJson;
    const blobs = new Set<string>();
    for (const entry of srcIndex.manifests) {
      for (const node of await manifestTree(src, repo, entry.digest)) {
        blobs.add(node.digest);
        for (const b of node.blobs) blobs.add(b);
      }
    }
    for (const digest of blobs) {
      const [alg, hex] = digest.split(':') as [string, string];
      const dest = join(storeRoot, repo, 'blobs', alg, hex);
      if (!(await stat(dest).catch(() => undefined))) await src.fetchBlob(repo, digest, dest);
    }
    const dstIndexPath = join(storeRoot, repo, 'index.json');
    const existing = (await readFile(dstIndexPath, 'utf8')
      .then((t) => JSON.parse(t) as IndexJson)
      .catch(() => undefined)) ?? {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [],
    };
    const incomingTags = new Set(srcIndex.manifests.map((m) => m.annotations?.[REF_NAME]).filter(Boolean));
    existing.manifests = [
      ...existing.manifests.filter((m) => !incomingTags.has(m.annotations?.[REF_NAME])),
      ...srcIndex.manifests,
    ];
    await mkdir(join(storeRoot, repo), { recursive: true });
    await writeFileAtomic(join(storeRoot, repo, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFileAtomic(dstIndexPath, JSON.stringify(existing, null, 2));
    result.push({ repo, tags: await dst.listTags(repo) });
  }
  return result;
}
