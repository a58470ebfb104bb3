/**
 * The `mkfs.xfs -p` prototype file for a tree (talos-imager §6.2 step 2): every entry owned by
 * uid/gid 0, directories 0755, files with their mode, names sorted byte-wise. The format is
 * whitespace-separated tokens with `$` closing a directory and `:` starting a comment, so names
 * and source paths must contain neither (we refuse them instead of building a wrong image).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FactoryError } from '../../errors.js';
import { type FileTree, validateTree } from './tree.js';

const UNSAFE = /[\s:$]/;

interface Node {
  files: Map<string, { source: string; mode: number }>;
  dirs: Map<string, Node>;
}

/** Renders the protofile text; content given as bytes is written to files under `scratchDir`. */
export async function writeXfsProtofile(
  tree: FileTree,
  scratchDir: string,
  what: string,
): Promise<{ protofile: string; text: string }> {
  validateTree(tree, what);
  const root: Node = { files: new Map(), dirs: new Map() };
  let blob = 0;
  for (const f of tree) {
    const segs = f.path.split('/');
    for (const s of segs) {
      if (UNSAFE.test(s))
        throw new FactoryError(
          'BAD_REQUEST',
          `${what}: name ${JSON.stringify(s)} cannot go into an XFS protofile`,
        );
    }
    let source: string;
    if ('path' in f.source) source = path.resolve(f.source.path);
    else {
      source = path.join(scratchDir, `proto-data-${blob++}`);
      await writeFile(source, f.source.data);
    }
    if (UNSAFE.test(source))
      throw new FactoryError('BUILD_FAILED', `${what}: a source path contains whitespace, ':' or '$'`);
    let node = root;
    for (const s of segs.slice(0, -1)) {
      let next = node.dirs.get(s);
      if (next === undefined) {
        next = { files: new Map(), dirs: new Map() };
        node.dirs.set(s, next);
      }
      node = next;
    }
    node.files.set(segs.at(-1)!, { source, mode: f.mode ?? 0o644 });
  }
  const lines = ['/talos-image', '0 0', 'd--755 0 0'];
  const emit = (node: Node): void => {
    const names = [...new Set([...node.files.keys(), ...node.dirs.keys()])].sort(byteOrder);
    for (const name of names) {
      const file = node.files.get(name);
      if (file !== undefined) {
        lines.push(`${name} ${modeString('-', file.mode)} 0 0 ${file.source}`);
      } else {
        lines.push(`${name} d--755 0 0`);
        emit(node.dirs.get(name)!);
        lines.push('$');
      }
    }
  };
  emit(root);
  lines.push('$', '');
  const text = lines.join('\n');
  const protofile = path.join(scratchDir, 'protofile');
  await writeFile(protofile, text);
  return { protofile, text };
}

function modeString(type: string, mode: number): string {
  const suid = mode & 0o4000 ? 'u' : '-';
  const sgid = mode & 0o2000 ? 'g' : '-';
  return `${type}${suid}${sgid}${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
