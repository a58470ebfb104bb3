/**
 * Turning a directory tree into cpio entries. The walk order is Talos' own (errata §2): a
 * pre-order depth-first walk with each directory's entries sorted by name bytes, directories
 * listed before their contents, paths relative without `./`. That is not a global sort: `lib`
 * and everything under it come before `lib-x`.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { CpioWriter } from './cpio.js';

/** Every path under `root` (excluding the root itself) in Talos' walk order. */
export async function walkTree(root: string): Promise<string[]> {
  const out: string[] = [];
  async function visit(rel: string): Promise<void> {
    const names = await sortedNames(join(root, rel));
    for (const name of names) {
      const child = rel === '' ? name : `${rel}/${name}`;
      out.push(child);
      if ((await lstat(join(root, child))).isDirectory()) await visit(child);
    }
  }
  await visit('');
  return out;
}

/** Directory entry names sorted by their UTF-8 bytes, as Go's os.ReadDir returns them. */
export async function sortedNames(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/**
 * Appends the given paths (relative to `root`, already in archive order) to `writer`, taking
 * modes from the files. Directory link counts are 2 + subdirectories, as ext4/tmpfs report them,
 * so the bytes do not depend on the filesystem the stage happens to live on.
 */
export async function addTreeEntries(
  writer: CpioWriter,
  root: string,
  paths: readonly string[],
): Promise<void> {
  for (const rel of paths) {
    const abs = join(root, rel);
    const st = await lstat(abs);
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      let subdirs = 0;
      for (const entry of await readdir(abs, { withFileTypes: true })) if (entry.isDirectory()) subdirs++;
      await writer.directory(rel, { mode, nlink: 2 + subdirs });
    } else if (st.isFile()) {
      await writer.file(rel, { path: abs }, { mode });
    } else if (st.isSymbolicLink()) {
      await writer.symlink(rel, await readlink(abs), { mode });
    } else {
      throw new Error(`cpio: ${abs} is neither a file, a directory nor a symlink`);
    }
  }
}
