/**
 * An extension bundle: everything one extension contributes to an initramfs, computed once from
 * its rootfs (talos-imager §2.2) and independent of its position among the others, so it can be
 * cached per extension image and reused at any index of any build. A bundle is a newc archive:
 *
 *   metadata.json             the manifest metadata (the extension's `extensions.yaml` entry)
 *   facts.json                what the extension carries (kernel modules, firmware)
 *   layer.sqsh                the squashfs layer: rootfs minus the firmware tree
 *   microcode/<name>.bin      this extension's early microcode, concatenated in glob order
 *   firmware, firmware/…      the firmware tree minus microcode, symlinks materialised, raw modes
 *
 * Applying a bundle stages `<dirname>.sqsh`, lays the firmware over the stage's firmware tree
 * with the imager's copy semantics, and hands the microcode back; which index an extension has
 * only decides the squashfs file name, so reusing a bundle at another index is exact.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { FactoryError } from '../../errors.js';
import type { ExtensionMetadata } from '../extensions/manifest.js';
import { CpioWriter } from '../formats/cpio.js';
import { readCpio } from '../formats/cpio-reader.js';
import { mksquashfs } from '../tools/mksquashfs.js';
import { throwIfAborted } from '../tools/run.js';
import { resolveInside, walkFollowing, type FollowedEntry } from './copy.js';
import { providesModules } from './modules-dep.js';
import { firmwareDir, MICROCODE, type InitramfsQuirks } from './paths.js';
import { collectMicrocode } from './microcode.js';
import type { Stage } from './stage.js';

/** Version of the bundle layout and of the staging rules it encodes: part of every bundle key. */
export const BUNDLE_FORMAT = 'extension-bundle-1';

/** What a bundle says about its extension. */
export interface BundleFacts {
  /** The rootfs has a kernel modules directory (it takes part in modules.dep). */
  modules: boolean;
  /** The rootfs has a firmware directory. */
  firmware: boolean;
}

/** One extension, unpacked, to be bundled. */
export interface BundleSource {
  name: string;
  /** Directory holding `rootfs/`; read, never modified. */
  dir: string;
  metadata: ExtensionMetadata;
}

/** Settings of {@link packExtension}. */
export interface PackOptions {
  quirks: InitramfsQuirks;
  sourceDateEpoch?: number;
  /** A fresh scratch directory for the squashfs image. */
  scratch: string;
  /** Where the bundle is written. */
  out: string;
  /** Step name for messages, e.g. `initramfs: extension siderolabs/x`. */
  step: string;
  signal?: AbortSignal;
}

const MICROCODE_NAMES = new Set(MICROCODE.map((m) => basename(m.dest)));

/** Computes an extension's bundle: microcode and firmware split off, the rest squashed. */
export async function packExtension(ext: BundleSource, o: PackOptions): Promise<void> {
  const { step } = o;
  const rootfs = join(ext.dir, 'rootfs');
  const fwRel = firmwareDir(o.quirks);
  const fwAbs = join(rootfs, fwRel);
  const realRoot = await realpath(ext.dir);
  // Like the imager: firmware handling only happens when the firmware dir resolves.
  const fwStat = await stat(fwAbs).catch(() => undefined);
  const hasFirmware = fwStat?.isDirectory() === true;
  const consumed = new Set<string>();
  const microcode: { name: string; bytes: Buffer }[] = [];
  const firmware: FollowedEntry[] = [];
  if (hasFirmware) {
    await resolveInside(fwAbs, realRoot, `${step}: firmware`);
    for (const ucode of MICROCODE) {
      const bytes = await collectMicrocode(
        join(fwAbs, ucode.dir),
        ucode,
        realRoot,
        consumed,
        `${step}: microcode`,
      );
      if (bytes !== undefined) microcode.push({ name: basename(ucode.dest), bytes });
    }
    // Walked (and checked) before the squash, so a bad link fails the build before the slow part.
    for await (const e of walkFollowing(fwAbs, { root: ext.dir, skip: consumed, step: `${step}: firmware` }))
      firmware.push(e);
  }
  throwIfAborted(o.signal, step);
  await mkdir(o.scratch, { recursive: true });
  const sqsh = join(o.scratch, 'layer.sqsh');
  let excludeFile: string | undefined;
  if (hasFirmware) {
    excludeFile = join(o.scratch, 'exclude.txt');
    await writeFile(excludeFile, `${fwRel}\n`);
  }
  await mksquashfs({
    step: `${step}: squash`,
    source: rootfs,
    dest: sqsh,
    compression: o.quirks.zstd ? 'zstd' : 'xz',
    excludeFile,
    sourceDateEpoch: o.sourceDateEpoch,
    signal: o.signal,
  });
  const facts: BundleFacts = { modules: await providesModules(ext.dir, o.quirks), firmware: hasFirmware };

  const out = createWriteStream(o.out, { flags: 'wx', mode: 0o644 });
  try {
    const cpio = new CpioWriter(out, { mtime: 0, padTo: 1 });
    await cpio.file('metadata.json', Buffer.from(JSON.stringify(ext.metadata)));
    await cpio.file('facts.json', Buffer.from(JSON.stringify(facts)));
    await cpio.file('layer.sqsh', { path: sqsh });
    for (const m of microcode) await cpio.file(`microcode/${m.name}`, m.bytes);
    for (const e of firmware) {
      const name = e.rel === '' ? 'firmware' : `firmware/${e.rel}`;
      if (e.kind === 'dir') await cpio.directory(name, { mode: e.mode });
      else await cpio.file(name, { path: e.real }, { mode: e.mode });
    }
    await cpio.finish();
    out.end();
    await new Promise<void>((resolve, reject) => {
      out.once('finish', resolve);
      out.once('error', reject);
    });
  } catch (e) {
    out.destroy();
    await rm(o.out, { force: true });
    throw e;
  } finally {
    await rm(o.scratch, { recursive: true, force: true });
  }
}

/** Settings of {@link applyBundle}. */
export interface ApplyOptions {
  stage: Stage;
  /** Staging directory name: `0`, `1`, … or `modules.dep`; the layer becomes `<dirname>.sqsh`. */
  dirname: string;
  quirks: InitramfsQuirks;
  step: string;
}

/** What applying a bundle yields besides the entries placed in the stage. */
export interface AppliedBundle {
  metadata: ExtensionMetadata;
  facts: BundleFacts;
  /** Microcode by file name (`GenuineIntel.bin`, …), for the early archive. */
  microcode: Map<string, Buffer>;
  /** Where the squashfs layer's bytes are. */
  layer: { path: string; start: number; size: number };
}

/**
 * Places a bundle's layer and firmware into the stage (their bytes stay in the bundle file, which
 * must outlive the stage); returns its metadata, facts, microcode and where its layer is.
 */
export async function applyBundle(bundle: string, o: ApplyOptions): Promise<AppliedBundle> {
  const fwRel = firmwareDir(o.quirks);
  const bad = (why: string): FactoryError =>
    new FactoryError('BUILD_FAILED', `${o.step}: cached extension bundle is unusable: ${why}`);
  let metadata: ExtensionMetadata | undefined;
  let facts: BundleFacts | undefined;
  let layer: AppliedBundle['layer'] | undefined;
  const microcode = new Map<string, Buffer>();
  for await (const entry of readCpio(createReadStream(bundle, { highWaterMark: 1 << 20 }))) {
    const { name } = entry;
    const bytes = { path: bundle, start: entry.dataOffset, size: entry.size };
    if (name === 'metadata.json' || name === 'facts.json') {
      const text = Buffer.concat(await collect(entry.content())).toString('utf8');
      if (name === 'metadata.json') metadata = parseMetadata(text);
      else facts = parseFacts(text);
      if ((name === 'metadata.json' ? metadata : facts) === undefined) throw bad(`malformed ${name}`);
    } else if (name === 'layer.sqsh' && entry.type === 'file') {
      // The cpio records this mode; the process umask does not decide it.
      o.stage.writeFile(`${o.dirname}.sqsh`, 0o644, bytes, o.step);
      layer = bytes;
    } else if (name.startsWith('microcode/') && entry.type === 'file') {
      const file = name.slice('microcode/'.length);
      if (!MICROCODE_NAMES.has(file) || microcode.has(file)) throw bad(`unexpected member ${name}`);
      microcode.set(file, Buffer.concat(await collect(entry.content())));
    } else if (name === 'firmware' && entry.type === 'directory') {
      // MkdirAll in the imager gives missing parents the firmware dir's own mode.
      o.stage.mkdirAll(fwRel, entry.mode & 0o7777, `${o.step}: firmware`);
    } else if (name.startsWith('firmware/') && (entry.type === 'file' || entry.type === 'directory')) {
      const rel = name.slice('firmware/'.length);
      if (!safeRelative(rel)) throw bad(`unsafe member name ${JSON.stringify(name)}`);
      const kind = entry.type === 'file' ? 'file' : 'dir';
      o.stage.place(
        `${fwRel}/${rel}`,
        kind,
        entry.mode & 0o7777,
        kind === 'file' ? bytes : undefined,
        `${o.step}: firmware`,
      );
    } else {
      throw bad(`unexpected member ${JSON.stringify(name)}`);
    }
  }
  if (metadata === undefined || facts === undefined || layer === undefined) throw bad('a member is missing');
  return { metadata, facts, microcode, layer };
}

/** A bundle's facts and where its layer is, without reading the rest. */
export async function readBundleIndex(
  bundle: string,
): Promise<{ facts: BundleFacts; layer: { path: string; start: number; size: number } }> {
  let facts: BundleFacts | undefined;
  for await (const entry of readCpio(createReadStream(bundle, { highWaterMark: 1 << 16 }))) {
    if (entry.name === 'facts.json') {
      facts = parseFacts(Buffer.concat(await collect(entry.content())).toString('utf8'));
    } else if (entry.name === 'layer.sqsh' && facts !== undefined) {
      return { facts, layer: { path: bundle, start: entry.dataOffset, size: entry.size } };
    }
  }
  throw new Error('bundle has no facts.json before its layer.sqsh');
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const c of source) chunks.push(c);
  return chunks;
}

/** A relative `/`-separated path without empty, `.` or `..` segments. */
function safeRelative(rel: string): boolean {
  return rel.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function parseFacts(text: string): BundleFacts | undefined {
  const v = (parseJson(text) ?? {}) as Partial<BundleFacts>;
  if (typeof v.modules !== 'boolean' || typeof v.firmware !== 'boolean') return undefined;
  return { modules: v.modules, firmware: v.firmware };
}

function parseMetadata(text: string): ExtensionMetadata | undefined {
  const v = (parseJson(text) ?? {}) as Partial<ExtensionMetadata>;
  const s = (x: unknown): x is string => typeof x === 'string';
  if (!s(v.name) || !s(v.version) || !s(v.author) || !s(v.description)) return undefined;
  if (!s(v.compatibility?.talos?.version)) return undefined;
  if (v.extraInfo !== undefined && !s(v.extraInfo)) return undefined;
  const m: ExtensionMetadata = {
    name: v.name,
    version: v.version,
    author: v.author,
    description: v.description,
    compatibility: { talos: { version: v.compatibility.talos.version } },
  };
  if (v.extraInfo !== undefined) m.extraInfo = v.extraInfo;
  return m;
}
