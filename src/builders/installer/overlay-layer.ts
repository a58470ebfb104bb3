/**
 * The installer's overlay layer (talos-imager §7.2; Talos `filemap.Walk`): the extracted overlay
 * image's `artifacts/` tree as `overlay/artifacts/…` (directories and files, with their
 * permissions), the chosen overlay installer as `overlay/installers/default`, and the schematic's
 * overlay options as `overlay/extra-options` (go-yaml, 0644).
 *
 * Symlinks are followed like Go's `os.Open` does, but only to files inside the overlay tree: a
 * link out of it would copy a server file into a published image.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { FactoryError } from '../../errors.js';
import type { LayerEntry } from './artifacts-layer.js';

/** Inputs of {@link overlayLayerEntries}. */
export interface OverlayLayerInput {
  /** The overlay image, extracted (holds `artifacts/`, `installers/`, `profiles/`). */
  readonly root: string;
  /** The overlay name from the schematic (`installers/<name>`; `default` when empty). */
  readonly name: string;
  /** go-yaml Marshal of the overlay options. */
  readonly extraOptions: string;
  /** The overlay image, for messages. */
  readonly what: string;
}

function fail(what: string, reason: string): FactoryError {
  return new FactoryError('OVERLAY_UNAVAILABLE', `overlay ${what}: ${reason}`);
}

/** A regular file inside `root` (symlinks resolved, but never out of `root`). */
async function regularFile(
  root: string,
  path: string,
  what: string,
  rel: string,
): Promise<{ path: string; mode: number; size: number }> {
  const real = await realpath(path).catch(() => undefined);
  const realRoot = await realpath(root);
  if (real === undefined || (real !== realRoot && !real.startsWith(realRoot + sep))) {
    throw fail(what, `${rel} points outside the overlay image`);
  }
  const st = await stat(real);
  if (!st.isFile()) throw fail(what, `${rel} is not a regular file`);
  return { path: real, mode: st.mode & 0o777, size: st.size };
}

function fileEntry(name: string, f: { path: string; mode: number; size: number }): LayerEntry {
  return {
    name,
    size: f.size,
    mode: f.mode,
    open: () => Promise.resolve(createReadStream(f.path, { highWaterMark: 1 << 20 })),
  };
}

async function walk(
  root: string,
  dir: string,
  imageBase: string,
  what: string,
  out: LayerEntry[],
): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    const rel = relative(root, path);
    const name = `${imageBase}/${relative(join(root, 'artifacts'), path).split(sep).join('/')}`;
    if (e.isDirectory()) {
      out.push({ name, directory: true, mode: (await lstat(path)).mode & 0o777 });
      await walk(root, path, imageBase, what, out);
    } else if (e.isFile() || e.isSymbolicLink()) {
      out.push(fileEntry(name, await regularFile(root, path, what, rel)));
    } else {
      throw fail(what, `${rel} is not a file or directory`);
    }
  }
}

/** The members of the overlay layer (unsorted; the layer writer sorts). */
export async function overlayLayerEntries(o: OverlayLayerInput): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  const artifacts = join(o.root, 'artifacts');
  if ((await lstat(artifacts).catch(() => undefined))?.isDirectory()) {
    await walk(o.root, artifacts, 'overlay/artifacts', o.what, out);
  }
  const name = o.name === '' ? 'default' : o.name;
  if (name.includes('/') || name === '.' || name === '..')
    throw fail(o.what, `invalid installer name "${name}"`);
  // Boards named after their profile ship `installers/<name>`; single-board overlays only `default`.
  let installer = join(o.root, 'installers', name);
  if (!(await lstat(installer).catch(() => undefined)) && name !== 'default') {
    installer = join(o.root, 'installers', 'default');
  }
  if (!(await lstat(installer).catch(() => undefined))) {
    throw fail(o.what, `has no installers/${name} (nor installers/default)`);
  }
  out.push(
    fileEntry(
      'overlay/installers/default',
      await regularFile(o.root, installer, o.what, `installers/${name}`),
    ),
  );
  const options = Buffer.from(o.extraOptions);
  out.push({
    name: 'overlay/extra-options',
    size: options.length,
    mode: 0o644,
    open: () => Promise.resolve(Readable.from([options])),
  });
  return out;
}
