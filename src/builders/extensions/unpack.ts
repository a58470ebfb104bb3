/**
 * Flattening an extension image's layers into one directory, treating the archives as hostile:
 * no absolute paths, no `..`, nothing written through a symlink, no links that point outside the
 * extraction root, no device nodes or fifos, setuid/setgid files rejected (or stripped), and
 * caps on the total unpacked bytes and entry count. Layers apply in order with OCI whiteouts
 * (`.wh.<name>` deletes, `.wh..wh..opq` empties the directory of lower-layer content). Every
 * rejection is `FactoryError('EXTENSION_INVALID', 'extension <name>: entry "<path>": <reason>')`.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, link, lstat, lutimes, mkdir, readdir, rm, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { FactoryError } from '../../errors.js';
import { detectFileKind } from '../formats/magic.js';
import { readTar, TarFormatError, type TarEntry } from '../formats/tar-reader.js';
import { throwIfAborted, toolOutput } from '../tools/run.js';
import { zstdDecompress } from '../tools/zstd.js';

/** A layer blob on disk (compression is detected from its first bytes). */
export interface ExtensionLayer {
  path: string;
  mediaType?: string;
}

/** Resource caps for one extension. */
export interface UnpackLimits {
  /** Total bytes of regular-file content across all layers. */
  maxBytes: number;
  /** Total number of archive entries across all layers. */
  maxEntries: number;
}

/** Caps generous enough for the largest official extensions (firmware, GPU drivers). */
export const DEFAULT_UNPACK_LIMITS: UnpackLimits = { maxBytes: 8 * 1024 ** 3, maxEntries: 500_000 };

/** Options for {@link unpackExtensionImage}. */
export interface UnpackOptions {
  /** Extension name for messages, e.g. `siderolabs/gvisor`. */
  name: string;
  /** Layer blobs, lowest first. */
  layers: readonly (string | ExtensionLayer)[];
  /** Target directory; created if missing, must be empty. */
  destDir: string;
  limits?: Partial<UnpackLimits>;
  /** What to do with setuid/setgid files: reject (default) or drop the bits. */
  setuid?: 'reject' | 'strip';
  signal?: AbortSignal;
}

/** What was unpacked. */
export interface UnpackResult {
  dir: string;
  entries: number;
  bytes: number;
  /** `security.selinux` labels from PAX records, by normalised path (HEAD uses them for mksquashfs). */
  selinuxLabels: Map<string, string>;
}

const SELINUX_PAX = 'SCHILY.xattr.security.selinux';

/** Unpacks and flattens `layers` into `destDir`. */
export async function unpackExtensionImage(options: UnpackOptions): Promise<UnpackResult> {
  const unpacker = new Unpacker(options);
  await mkdir(options.destDir, { recursive: true });
  if ((await readdir(options.destDir)).length > 0) throw new Error(`unpack: ${options.destDir} is not empty`);
  for (const [index, layer] of options.layers.entries()) {
    await unpacker.applyLayer(typeof layer === 'string' ? { path: layer } : layer, index);
  }
  await unpacker.finish();
  return unpacker.result();
}

interface DirMeta {
  mode: number;
  mtime: number;
}

class Unpacker {
  private readonly name: string;
  private readonly root: string;
  private readonly limits: UnpackLimits;
  private readonly setuid: 'reject' | 'strip';
  private readonly signal: AbortSignal | undefined;
  private entries = 0;
  private bytes = 0;
  private readonly dirs = new Map<string, DirMeta>();
  private readonly labels = new Map<string, string>();
  private thisLayer = new Set<string>();

  constructor(o: UnpackOptions) {
    this.name = o.name;
    this.root = o.destDir;
    this.limits = { ...DEFAULT_UNPACK_LIMITS, ...o.limits };
    this.setuid = o.setuid ?? 'reject';
    this.signal = o.signal;
  }

  async applyLayer(layer: ExtensionLayer, index: number): Promise<void> {
    this.thisLayer = new Set();
    const step = `extension ${this.name}: layer ${index}`;
    const kind = await detectFileKind(layer.path);
    let source: AsyncIterable<Uint8Array>;
    let finish: () => Promise<void> = async () => undefined;
    if (kind === 'zstd') {
      const tool = zstdDecompress(layer.path, { step: `${step}: decompress`, signal: this.signal });
      source = toolOutput(tool);
      finish = () => tool.done;
      tool.done.catch(() => undefined); // observed below, after the tar reader finishes
    } else if (kind === 'gzip') {
      const gunzip = createGunzip();
      // pipeline forwards read errors into gunzip, where the tar reader's iteration sees them.
      pipeline(createReadStream(layer.path), gunzip).catch(() => undefined);
      source = gunzip;
    } else {
      source = createReadStream(layer.path);
    }
    try {
      for await (const entry of readTar(source)) {
        throwIfAborted(this.signal, step);
        await this.apply(entry);
      }
    } catch (e) {
      if (e instanceof TarFormatError)
        throw new FactoryError('EXTENSION_INVALID', `${step}: malformed tar: ${e.message}`, { cause: e });
      if (e instanceof FactoryError) throw e;
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('Z_')) {
        throw new FactoryError('EXTENSION_INVALID', `${step}: bad gzip data: ${(e as Error).message}`, {
          cause: e,
        });
      }
      throw e;
    }
    await finish();
  }

  private fail(path: string, reason: string): FactoryError {
    return new FactoryError('EXTENSION_INVALID', `extension ${this.name}: entry "${path}": ${reason}`);
  }

  private async apply(entry: TarEntry): Promise<void> {
    this.entries++;
    if (this.entries > this.limits.maxEntries)
      throw this.fail(entry.path, `more than ${this.limits.maxEntries} entries`);
    const rel = this.normalise(entry.path, entry.path);
    if (rel === '') {
      if (entry.type !== 'directory') throw this.fail(entry.path, 'the extraction root must be a directory');
      return;
    }
    const base = posix.basename(rel);
    const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
    if (base.startsWith('.wh.')) {
      await this.whiteout(entry.path, parent, base);
      return;
    }
    if (entry.type === 'char' || entry.type === 'block' || entry.type === 'fifo') {
      throw this.fail(entry.path, 'device nodes and fifos are not allowed');
    }
    if (entry.type === 'other')
      throw this.fail(entry.path, `unsupported entry type '${entry.typeflag.replace(/\0/g, '\\0')}'`);
    let mode = entry.mode & 0o7777;
    if (entry.type === 'file' && (mode & 0o6000) !== 0) {
      if (this.setuid === 'reject')
        throw this.fail(entry.path, `setuid/setgid files are not allowed (mode ${mode.toString(8)})`);
      mode &= ~0o6000;
    }
    await this.ensureParents(entry.path, parent);
    const abs = join(this.root, rel);
    const existing = await lstat(abs).catch(() => undefined);
    this.thisLayer.add(rel);
    const label = entry.pax[SELINUX_PAX];
    if (label !== undefined) this.labels.set(rel, label.replace(/\0+$/, ''));
    if (entry.type === 'directory') {
      if (existing !== undefined && !existing.isDirectory()) await rm(abs, { recursive: true, force: true });
      if (existing === undefined || !existing.isDirectory()) await mkdir(abs, { mode: 0o755 });
      // Final modes and times are applied at the end so restrictive modes cannot block children.
      this.dirs.set(rel, { mode: mode & 0o1777, mtime: entry.mtime });
      return;
    }
    if (existing !== undefined) await rm(abs, { recursive: true, force: true });
    this.dirs.delete(rel);
    if (entry.type === 'symlink') {
      this.checkSymlink(entry, rel);
      await symlink(entry.linkpath, abs);
      await lutimes(abs, entry.mtime, entry.mtime).catch(() => undefined);
    } else if (entry.type === 'hardlink') {
      const target = this.normalise(entry.path, entry.linkpath, 'hardlink target');
      const targetStat = await this.safeLstat(target);
      if (targetStat === undefined || !targetStat.isFile())
        throw this.fail(
          entry.path,
          `hardlink target "${entry.linkpath}" is not a regular file in the archive`,
        );
      await link(join(this.root, target), abs);
    } else {
      if (this.bytes + entry.size > this.limits.maxBytes) {
        throw this.fail(entry.path, `unpacked size exceeds the limit of ${this.limits.maxBytes} bytes`);
      }
      this.bytes += entry.size;
      await pipeline(Readable.from(entry.content()), createWriteStream(abs, { flags: 'wx', mode: 0o600 }));
      await chmod(abs, mode);
      await utimes(abs, entry.mtime, entry.mtime);
    }
  }

  /** Turns an archive path into a clean relative path, rejecting absolute paths and `..`. */
  private normalise(entryPath: string, path: string, what = 'path'): string {
    if (path.startsWith('/')) throw this.fail(entryPath, `absolute ${what} "${path}" is not allowed`);
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw this.fail(entryPath, `${what} "${path}" contains '..'`);
    return parts.join('/');
  }

  /** Symlink targets may not lead outside the extraction root (absolute ones mean the image's own root). */
  private checkSymlink(entry: TarEntry, rel: string): void {
    const target = entry.linkpath;
    if (target === '') throw this.fail(entry.path, 'symlink has an empty target');
    if (target.includes('\0')) throw this.fail(entry.path, 'symlink target contains NUL');
    if (target.startsWith('/')) return;
    const resolved = posix.normalize(posix.join(posix.dirname(rel), target));
    if (resolved === '..' || resolved.startsWith('../')) {
      throw this.fail(entry.path, `symlink target "${target}" escapes the extraction root`);
    }
  }

  /** Creates missing parent directories, refusing to pass through symlinks or files. */
  private async ensureParents(entryPath: string, parent: string): Promise<void> {
    if (parent === '') return;
    let cur = '';
    for (const part of parent.split('/')) {
      cur = cur === '' ? part : `${cur}/${part}`;
      const abs = join(this.root, cur);
      const st = await lstat(abs).catch(() => undefined);
      if (st === undefined) {
        await mkdir(abs, { mode: 0o755 });
        this.thisLayer.add(cur);
      } else if (st.isSymbolicLink()) {
        throw this.fail(entryPath, `parent "${cur}" is a symlink`);
      } else if (!st.isDirectory()) {
        throw this.fail(entryPath, `parent "${cur}" is not a directory`);
      }
    }
  }

  /** lstat of a relative path whose parents must all be real directories. */
  private async safeLstat(rel: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
    let cur = '';
    const parts = rel.split('/');
    for (const [i, part] of parts.entries()) {
      cur = cur === '' ? part : `${cur}/${part}`;
      const st = await lstat(join(this.root, cur)).catch(() => undefined);
      if (st === undefined) return undefined;
      if (i < parts.length - 1 && !st.isDirectory()) return undefined;
      if (i === parts.length - 1) return st;
    }
    return undefined;
  }

  private async whiteout(entryPath: string, parent: string, base: string): Promise<void> {
    await this.ensureParents(entryPath, parent);
    const dir = join(this.root, parent);
    if (base === '.wh..wh..opq') {
      for (const child of await readdir(dir)) {
        const rel = parent === '' ? child : `${parent}/${child}`;
        if (!this.thisLayer.has(rel)) await this.remove(rel);
      }
      return;
    }
    const victim = this.normalise(entryPath, parent === '' ? base.slice(4) : `${parent}/${base.slice(4)}`);
    if (victim === '' || victim === parent) throw this.fail(entryPath, 'whiteout names nothing');
    await this.remove(victim);
  }

  private async remove(rel: string): Promise<void> {
    await rm(join(this.root, rel), { recursive: true, force: true });
    for (const key of [...this.dirs.keys()])
      if (key === rel || key.startsWith(`${rel}/`)) this.dirs.delete(key);
    for (const key of [...this.labels.keys()])
      if (key === rel || key.startsWith(`${rel}/`)) this.labels.delete(key);
  }

  /** Applies directory modes and times, deepest first so parents keep theirs. */
  async finish(): Promise<void> {
    const order = [...this.dirs.entries()].sort((a, b) => b[0].split('/').length - a[0].split('/').length);
    for (const [rel, meta] of order) {
      const abs = join(this.root, rel);
      await chmod(abs, meta.mode);
      await utimes(abs, meta.mtime, meta.mtime);
    }
  }

  result(): UnpackResult {
    return { dir: this.root, entries: this.entries, bytes: this.bytes, selinuxLabels: this.labels };
  }
}
