/**
 * Early CPU microcode (talos-imager §2.2 step 1): each extension's `intel-ucode/*` and
 * `amd-ucode/microcode_amd*.bin` files, concatenated in glob order, and across extensions in
 * layer order, become `kernel/x86/microcode/{GenuineIntel,AuthenticAMD}.bin` in an uncompressed
 * newc archive placed before the original initramfs (the kernel only looks there).
 */
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FactoryError } from '../../errors.js';
import { CpioWriter } from '../formats/cpio.js';
import { resolveInside } from './copy.js';
import type { MICROCODE } from './paths.js';

/**
 * This extension's microcode of one kind: matching files (name-sorted, like Go's Glob) concatenated,
 * or undefined when none match. Each file read is recorded in `consumed` (it is not firmware).
 */
export async function collectMicrocode(
  dir: string,
  ucode: (typeof MICROCODE)[number],
  realRoot: string,
  consumed: Set<string>,
  step: string,
): Promise<Buffer | undefined> {
  const dirStat = await stat(dir).catch(() => undefined);
  if (dirStat === undefined || !dirStat.isDirectory()) return undefined;
  await resolveInside(dir, realRoot, step);
  const names = (await readdir(dir))
    .filter(ucode.match)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  for (const name of names) {
    const src = join(dir, name);
    const real = await resolveInside(src, realRoot, step);
    if (!(await stat(real)).isFile())
      throw new FactoryError('BUILD_FAILED', `${step}: ${src} is not a regular file`);
    parts.push(await readFile(real));
    consumed.add(src);
  }
  return Buffer.concat(parts);
}

/**
 * Writes the early-microcode archive: the directories of every file (0755) and the files (0644)
 * in Talos' walk order, directory link counts 2 + subdirectories, every mtime `mtime`.
 */
export async function writeMicrocodeArchive(
  files: ReadonlyMap<string, readonly Buffer[]>,
  out: string,
  mtime: number,
): Promise<void> {
  interface Dir {
    dirs: Map<string, Dir>;
    files: Map<string, readonly Buffer[]>;
  }
  const root: Dir = { dirs: new Map(), files: new Map() };
  for (const [path, parts] of files) {
    const segments = path.split('/');
    const leaf = segments.pop() as string;
    let d = root;
    for (const s of segments) {
      let next = d.dirs.get(s);
      if (!next) d.dirs.set(s, (next = { dirs: new Map(), files: new Map() }));
      d = next;
    }
    d.files.set(leaf, parts);
  }
  const fh = await open(out, 'wx', 0o644);
  try {
    const cpio = new CpioWriter(
      async (chunk) => {
        await fh.write(chunk);
      },
      { mtime },
    );
    const byName = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
    const visit = async (d: Dir, prefix: string): Promise<void> => {
      const names = [...new Set([...d.dirs.keys(), ...d.files.keys()])].sort(byName);
      for (const name of names) {
        const rel = prefix === '' ? name : `${prefix}/${name}`;
        const sub = d.dirs.get(name);
        if (sub) {
          await cpio.directory(rel, { mode: 0o755, nlink: 2 + sub.dirs.size });
          await visit(sub, rel);
        } else {
          await cpio.file(rel, Buffer.concat(d.files.get(name) ?? []), { mode: 0o644 });
        }
      }
    };
    await visit(root, '');
    await cpio.finish();
  } finally {
    await fh.close();
  }
}
