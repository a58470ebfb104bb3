/**
 * A filesystem tree to put into an image (the ESP, BOOT): a flat list of files with relative
 * paths, each taken from a file on disk or from bytes. Directories are implied by the paths.
 * `stageTree` materialises it as a directory (what `mcopy` reads) with every file and directory
 * time set to one fixed value, so images built from it are reproducible.
 */
import { copyFile, constants as fsConstants, chmod, mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FactoryError } from '../../errors.js';

/** Where a file's bytes come from. */
export type TreeSource = { readonly path: string } | { readonly data: Buffer | string };

/** One file of a tree. */
export interface TreeFile {
  /** Relative, `/`-separated, no `.`/`..`/empty segments, e.g. `EFI/boot/BOOTX64.efi`. */
  readonly path: string;
  readonly source: TreeSource;
  /** Permission bits; default 0o644. */
  readonly mode?: number;
}

/** A tree: files in any order (writers sort). */
export type FileTree = readonly TreeFile[];

/** Checks every path of a tree (400-class errors name the path) and rejects duplicates. */
export function validateTree(tree: FileTree, what: string): void {
  const seen = new Set<string>();
  const dirs = new Set<string>();
  for (const f of tree) {
    const segs = f.path.split('/');
    if (f.path === '' || segs.some((s) => s === '' || s === '.' || s === '..' || s.includes('\0'))) {
      throw new FactoryError('BAD_REQUEST', `${what}: invalid path ${JSON.stringify(f.path)}`);
    }
    if (seen.has(f.path) || dirs.has(f.path))
      throw new FactoryError('BAD_REQUEST', `${what}: duplicate path ${JSON.stringify(f.path)}`);
    seen.add(f.path);
    for (let i = 1; i < segs.length; i++) {
      const dir = segs.slice(0, i).join('/');
      if (seen.has(dir))
        throw new FactoryError('BAD_REQUEST', `${what}: ${JSON.stringify(dir)} is a file and a directory`);
      dirs.add(dir);
    }
  }
}

/** All directories a tree implies, sorted (parents before children). */
export function treeDirectories(tree: FileTree): string[] {
  const dirs = new Set<string>();
  for (const f of tree) {
    const segs = f.path.split('/');
    for (let i = 1; i < segs.length; i++) dirs.add(segs.slice(0, i).join('/'));
  }
  return [...dirs].sort();
}

/** Writes `tree` under `dir` (which must exist and be empty) with all times = `epochSeconds`. */
export async function stageTree(
  dir: string,
  tree: FileTree,
  epochSeconds: number,
  what: string,
): Promise<void> {
  validateTree(tree, what);
  const dirs = treeDirectories(tree);
  for (const d of dirs) await mkdir(path.join(dir, d), { recursive: true });
  for (const f of [...tree].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const dest = path.join(dir, f.path);
    if ('path' in f.source) await copyFile(f.source.path, dest, fsConstants.COPYFILE_FICLONE);
    else await writeFile(dest, f.source.data);
    await chmod(dest, f.mode ?? 0o644);
    await utimes(dest, epochSeconds, epochSeconds);
  }
  // Deepest directories first, so setting a child's time cannot touch its parent's afterwards.
  for (const d of [...dirs].reverse()) {
    await chmod(path.join(dir, d), 0o755);
    await utimes(path.join(dir, d), epochSeconds, epochSeconds);
  }
  await utimes(dir, epochSeconds, epochSeconds);
}

/** The top-level names of a tree, sorted (what `mcopy` is given). */
export function topLevelNames(tree: FileTree): string[] {
  return [...new Set(tree.map((f) => f.path.split('/')[0]!))].sort();
}
