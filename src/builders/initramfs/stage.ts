/**
 * The staging tree of the appended archive, held in memory: what the imager builds as a directory
 * (`<n>.sqsh`, `extensions.yaml`, the merged firmware tree) is recorded here as entries whose bytes
 * stay where they already are — in a bundle file, at an offset — and are read once, when the cpio
 * is written. The imager's file semantics are kept: `MkdirAll` gives missing parents the mode it
 * is asked for, an existing directory or file keeps its mode, a new one gets its mode through the
 * 022 umask, and a file may not replace a directory (or the reverse).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { FactoryError } from '../../errors.js';
import type { CpioWriter } from '../formats/cpio.js';

/** Where a staged file's bytes are. */
export type StagedBytes = Buffer | { path: string; start: number; size: number };

interface DirNode {
  kind: 'dir';
  mode: number;
  children: Map<string, StageNode>;
}
interface FileNode {
  kind: 'file';
  mode: number;
  bytes: StagedBytes;
}
type StageNode = DirNode | FileNode;

const UMASK = 0o022;

/** An in-memory staging tree. */
export class Stage {
  readonly #root: DirNode = { kind: 'dir', mode: 0o755, children: new Map() };

  /** The node at `rel` (`/`-separated), or undefined. */
  #get(rel: string): StageNode | undefined {
    let node: StageNode = this.#root;
    for (const part of rel.split('/')) {
      if (node.kind !== 'dir') return undefined;
      const next = node.children.get(part);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  #parentOf(rel: string, step: string): { dir: DirNode; name: string } {
    const parts = rel.split('/');
    const name = parts.pop() as string;
    let node: StageNode = this.#root;
    for (const part of parts) {
      const next: StageNode | undefined = node.kind === 'dir' ? node.children.get(part) : undefined;
      if (next === undefined || next.kind !== 'dir')
        throw new FactoryError('BUILD_FAILED', `${step}: ${rel}: parent ${part} is not a directory`);
      node = next;
    }
    return { dir: node as DirNode, name };
  }

  /** A file written with an explicit mode (layers, extensions.yaml): replaces what was there. */
  writeFile(rel: string, mode: number, bytes: StagedBytes, step: string): void {
    const { dir, name } = this.#parentOf(rel, step);
    dir.children.set(name, { kind: 'file', mode: mode & 0o7777, bytes });
  }

  /** `mkdir -p` where each created directory gets `mode` through the umask (Go's MkdirAll). */
  mkdirAll(rel: string, mode: number, step: string): void {
    let node: DirNode = this.#root;
    for (const part of rel.split('/')) {
      const next = node.children.get(part);
      if (next === undefined) {
        const created: DirNode = { kind: 'dir', mode: mode & 0o777 & ~UMASK, children: new Map() };
        node.children.set(part, created);
        node = created;
      } else if (next.kind === 'dir') {
        node = next;
      } else {
        throw new FactoryError('BUILD_FAILED', `${step}: ${rel}: ${part} is not a directory`);
      }
    }
  }

  /**
   * Places one entry of a copied tree (firmware): a directory is created when missing, a file's
   * bytes replace an existing file's, which keeps its mode.
   */
  place(rel: string, kind: 'dir' | 'file', mode: number, bytes: StagedBytes | undefined, step: string): void {
    const existing = this.#get(rel);
    if (kind === 'dir') {
      if (existing === undefined) this.mkdirAll(rel, mode, step);
      else if (existing.kind !== 'dir')
        throw new FactoryError('BUILD_FAILED', `${step}: cannot copy directory ${rel} over non-directory`);
      return;
    }
    if (bytes === undefined) throw new Error(`${step}: no bytes for ${rel}`);
    if (existing !== undefined && existing.kind !== 'file')
      throw new FactoryError('BUILD_FAILED', `${step}: cannot copy file ${rel} over non-file`);
    const { dir, name } = this.#parentOf(rel, step);
    dir.children.set(name, {
      kind: 'file',
      mode: existing === undefined ? mode & 0o777 & ~UMASK : existing.mode,
      bytes,
    });
  }

  /** Every path in Talos' walk order (pre-order, names sorted by bytes), excluding the root. */
  paths(): string[] {
    const out: string[] = [];
    const visit = (dir: DirNode, prefix: string): void => {
      for (const name of sortedNames(dir)) {
        const rel = prefix === '' ? name : `${prefix}/${name}`;
        out.push(rel);
        const child = dir.children.get(name) as StageNode;
        if (child.kind === 'dir') visit(child, rel);
      }
    };
    visit(this.#root, '');
    return out;
  }

  /**
   * Appends the given paths (in archive order) to `writer`. Directory link counts are
   * 2 + subdirectories, as ext4/tmpfs report them.
   */
  async addEntries(writer: CpioWriter, paths: readonly string[]): Promise<void> {
    // Most entries are ranges of a few bundle files: each is opened once, not once per entry.
    const files = new Map<string, FileHandle>();
    try {
      for (const rel of paths) {
        const node = this.#get(rel);
        if (node === undefined) throw new Error(`stage: ${rel} is not staged`);
        if (node.kind === 'dir') {
          let subdirs = 0;
          for (const c of node.children.values()) if (c.kind === 'dir') subdirs++;
          await writer.directory(rel, { mode: node.mode, nlink: 2 + subdirs });
        } else if (Buffer.isBuffer(node.bytes)) {
          await writer.file(rel, node.bytes, { mode: node.mode });
        } else {
          const { path, start, size } = node.bytes;
          let fh = files.get(path);
          if (fh === undefined) files.set(path, (fh = await open(path, 'r')));
          await writer.file(rel, { size, chunks: readRange(fh, start, size) }, { mode: node.mode });
        }
      }
    } finally {
      for (const fh of files.values()) await fh.close();
    }
  }
}

/** `size` bytes of `fh` from `start`, in chunks of at most 1 MiB (fewer bytes at end of file). */
async function* readRange(fh: FileHandle, start: number, size: number): AsyncGenerator<Buffer> {
  let pos = start;
  const end = start + size;
  while (pos < end) {
    const buf = Buffer.allocUnsafe(Math.min(1 << 20, end - pos));
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) return;
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

function sortedNames(dir: DirNode): string[] {
  return [...dir.children.keys()].sort((a, b) =>
    Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')),
  );
}
