/**
 * The initramfs with system extensions (talos-imager §2): the stock initramfs is never
 * rebuilt; extension squashfs layers, `extensions.yaml` and firmware are appended in a
 * compressed cpio, early microcode is prepended uncompressed.
 *
 * Steps: each extension becomes a bundle (its squashfs layer, firmware, microcode — computed from
 * its own rootfs only, see bundle.ts); bundles are applied to the stage in layer order (staging
 * directories named by input index, sorted as strings, so later extensions overwrite earlier
 * firmware); the modules.dep layer is built from the *unmodified* base initramfs and the
 * module-bearing extensions; the early-microcode archive from the microcode bundles; then
 * `extensions.yaml` and the cpio assembly. Bundles, the modules.dep layer and the microcode
 * archive go through an {@link IntermediateStore}, so a new schematic whose extensions were seen
 * before reuses them: a cold build and a build from reused intermediates run the same code on the
 * same bytes, and their outputs are identical.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FactoryError, isFactoryError, storageError } from '../../errors.js';
import { MANIFEST_VERSION, type ExtensionMetadata } from '../extensions/manifest.js';
import { emitExtensionsConfig, type ExtensionsLayer } from '../extensions/manifest-yaml.js';
import { checkCompatibility, decodeManifest } from '../extensions/validate.js';
import { mksquashfsArgs } from '../tools/mksquashfs.js';
import { throwIfAborted } from '../tools/run.js';
import { unsquashfsExtract } from '../tools/unsquashfs.js';
import { xzInitramfsArgs } from '../tools/xz.js';
import { zstdInitramfsArgs } from '../tools/zstd.js';
import { tempPathFor } from '../../util/atomic-file.js';
import { assembleInitramfs, type AssembledLayout } from './assemble.js';
import { applyBundle, BUNDLE_FORMAT, packExtension, readBundleIndex, type AppliedBundle } from './bundle.js';
import { IMAGER_APPENDIX_COMPRESSION, type AppendixCompression } from './compression.js';
import {
  intermediateKey,
  NO_INTERMEDIATE_STORE,
  type IntermediateSpec,
  type IntermediateStore,
  type ObtainedIntermediate,
} from './intermediates.js';
import { writeMicrocodeArchive } from './microcode.js';
import { buildModulesDep, providesModules } from './modules-dep.js';
import { MICROCODE, type InitramfsQuirks } from './paths.js';
import { Stage } from './stage.js';

/** One extension: already unpacked (`dir`), or unpacked on demand (`unpack`). */
export interface InitramfsExtension {
  /** Name for messages, e.g. `siderolabs/gvisor`. */
  name: string;
  /** Directory holding `manifest.yaml` and `rootfs/`; read, never modified. */
  dir?: string;
  /** Manifest metadata; read from `dir/manifest.yaml` when omitted. */
  metadata?: ExtensionMetadata;
  /** Unpacks (and validates) the extension into the empty directory given; called on a miss only. */
  unpack?: (dir: string) => Promise<ExtensionMetadata>;
  /**
   * What pins the extension's bytes (its image digest and arch, or the virtual extension's
   * content): with a store, its bundle is kept and reused under it. Omitted: always rebuilt.
   */
  identity?: Readonly<Record<string, unknown>>;
}

/** Inputs of {@link buildInitramfs}. */
export interface BuildInitramfsOptions {
  /** The release's stock initramfs (xz or zstd; gzip/cpio accepted for fixtures). */
  baseInitramfs: string;
  /** What pins the base initramfs (key of the modules.dep layer); its sha256 when omitted. */
  baseIdentity?: string;
  /** In request order; the virtual schematic extension last. */
  extensions: readonly InitramfsExtension[];
  quirks: InitramfsQuirks;
  /** Appendix compression levels (default: the imager's). */
  compression?: AppendixCompression;
  /** Scratch directory (created if missing); everything is built inside it. */
  workDir: string;
  /** Result path; default `<workDir>/initramfs.xz`. */
  output?: string;
  /** Fixed timestamp for cpio entries and squashfs images (default: cpio 0, squashfs untouched). */
  sourceDateEpoch?: number;
  /** Where intermediates are kept across builds (default: nowhere, everything is built). */
  store?: IntermediateStore;
  /** Target Talos version: every extension's compatibility is checked against it (reused ones too). */
  talosVersion?: string;
  signal?: AbortSignal;
}

/** What was built. */
export interface InitramfsResult {
  path: string;
  /** `extensions.yaml` exactly as written into the initramfs. */
  extensionsYaml: string;
  layout: AssembledLayout;
  /** Labels of the intermediates that came from the store, in build order. */
  reused: string[];
}

/** Builds the initramfs; returns the output path and what went where. */
export async function buildInitramfs(o: BuildInitramfsOptions): Promise<InitramfsResult> {
  const output = o.output ?? join(o.workDir, 'initramfs.xz');
  await mkdir(o.workDir, { recursive: true });
  if (o.extensions.length === 0) {
    // Without extensions the imager uses the input as is.
    const tmp = tempPathFor(output);
    await copyFile(o.baseInitramfs, tmp);
    await rename(tmp, output);
    return { path: output, extensionsYaml: '', layout: plainLayout((await stat(output)).size), reused: [] };
  }
  const stage = new Stage();
  const store = o.store ?? NO_INTERMEDIATE_STORE;
  const bundles = join(o.workDir, 'bundles');
  await mkdir(bundles, { recursive: true });
  if ((await readdir(bundles)).length > 0) {
    throw new FactoryError('BUILD_FAILED', 'initramfs: the work directory already holds a build');
  }
  const compression = o.compression ?? IMAGER_APPENDIX_COMPRESSION;
  // What every squashfs depends on besides its tree: the flags (paths left out), the format.
  const squashFlags = mksquashfsArgs({
    step: '',
    source: '',
    dest: '',
    compression: o.quirks.zstd ? 'zstd' : 'xz',
    sourceDateEpoch: o.sourceDateEpoch,
  }).slice(2);
  const common = { format: BUNDLE_FORMAT, quirks: o.quirks, squashfs: squashFlags };
  const reused: string[] = [];
  const track = (got: ObtainedIntermediate, spec: IntermediateSpec | undefined): ObtainedIntermediate => {
    if (got.reused && spec) reused.push(spec.label);
    return got;
  };

  // Staging directories are named by input index and listed by name as strings (`10` < `2`).
  const ordered = o.extensions
    .map((ext, index) => ({ ext, dirname: String(index) }))
    .sort((a, b) => (a.dirname < b.dirname ? -1 : a.dirname > b.dirname ? 1 : 0));

  const specs = ordered.map(({ ext }): IntermediateSpec | undefined =>
    ext.identity
      ? { type: 'extension', parts: { ...common, extension: ext.identity }, label: `squashfs ${ext.name}` }
      : undefined,
  );
  const keys = specs.map((spec) => (spec ? intermediateKey(spec) : undefined));
  // What each extension carries, known as early as possible (a miss: right after unpacking; a hit:
  // from its bundle), so modules.dep is built while the other extensions are still squashed.
  const early = ordered.map(() => deferred<{ modules: boolean; unpacked?: string }>());
  const bundleOf = ordered.map(() => deferred<ObtainedIntermediate>());

  // 1. One bundle per extension, two at a time: a miss unpacks and squashes (process start-up
  // dominates small extensions, and mksquashfs is multi-threaded for big ones); a hit is a copy.
  const bundlesDone = mapLimit(ordered, 2, async ({ ext, dirname }, i) => {
    const step = `initramfs: extension ${ext.name}`;
    const spec = specs[i];
    try {
      throwIfAborted(o.signal, step);
      const got = await guard(step, async () =>
        track(
          await store.obtain(
            spec,
            join(bundles, `${dirname}.bundle`),
            async (out) => {
              let dir = ext.dir;
              let metadata = ext.metadata;
              if (dir === undefined) {
                if (!ext.unpack)
                  throw new Error(`extension ${ext.name} has neither a directory nor an unpack step`);
                dir = join(o.workDir, 'extensions', dirname);
                await mkdir(dir, { recursive: true });
                metadata = await ext.unpack(dir);
              }
              metadata ??= await readMetadata(dir, ext.name);
              early[i]?.resolve({ modules: await providesModules(dir, o.quirks), unpacked: dir });
              await packExtension(
                { name: ext.name, dir, metadata },
                {
                  quirks: o.quirks,
                  sourceDateEpoch: o.sourceDateEpoch,
                  scratch: join(o.workDir, 'pack', dirname),
                  out,
                  step,
                  signal: o.signal,
                },
              );
            },
            o.signal,
          ),
          spec,
        ),
      );
      if (got.reused)
        early[i]?.resolve({ modules: (await guard(step, () => readBundleIndex(got.path))).facts.modules });
      bundleOf[i]?.resolve(got);
      return got;
    } catch (e) {
      early[i]?.reject(e);
      bundleOf[i]?.reject(e);
      throw e;
    }
  });

  // 2. modules.dep: from the base initramfs and the module trees, in layer order, always last.
  const modulesDepDone = (async (): Promise<ObtainedIntermediate | undefined> => {
    const facts = await Promise.all(early.map((d) => d.promise));
    const withModules = ordered.flatMap((x, i) => (facts[i]?.modules === true ? [{ ...x, i }] : []));
    if (withModules.length === 0) return undefined;
    const step = 'initramfs: modules.dep';
    const moduleKeys = withModules.map((m) => keys[m.i]);
    const spec: IntermediateSpec | undefined =
      o.store && moduleKeys.every((k) => k !== undefined)
        ? {
            type: 'modules-dep',
            parts: {
              ...common,
              base: o.baseIdentity ?? `sha256:${await sha256File(o.baseInitramfs)}`,
              modules: moduleKeys,
            },
            label: 'modules.dep',
          }
        : undefined;
    return track(
      await guard(step, () =>
        store.obtain(
          spec,
          join(bundles, 'modules.dep.bundle'),
          async (out) => {
            const dirs: { name: string; dir: string }[] = [];
            for (const m of withModules) {
              // A reused bundle was never unpacked here: its layer holds the same module tree.
              const dir =
                facts[m.i]?.unpacked ??
                (await unsquashLayer((await bundleOf[m.i]!.promise).path, m.dirname, o));
              dirs.push({ name: m.ext.name, dir });
            }
            await mkdir(join(o.workDir, 'modules-dep'), { recursive: true });
            const md = await buildModulesDep({
              baseInitramfs: o.baseInitramfs,
              extensions: dirs,
              quirks: o.quirks,
              workDir: join(o.workDir, 'modules-dep'),
              signal: o.signal,
            });
            if (md === undefined) throw new Error('no extension provides modules after all');
            await packExtension(
              { name: 'modules.dep', dir: md.dir, metadata: md.metadata },
              {
                quirks: o.quirks,
                sourceDateEpoch: o.sourceDateEpoch,
                scratch: join(o.workDir, 'pack', 'modules.dep'),
                out,
                step,
                signal: o.signal,
              },
            );
          },
          o.signal,
        ),
      ),
      spec,
    );
  })();
  modulesDepDone.catch(() => undefined); // awaited below; an early failure must not go unhandled
  let obtained: ObtainedIntermediate[];
  try {
    obtained = await bundlesDone;
  } catch (e) {
    // Let the concurrent modules.dep step finish before the caller removes the work dir under it.
    await modulesDepDone.catch(() => undefined);
    throw e;
  }

  // 3. The stage, in layer order: later extensions overwrite earlier firmware.
  const layers: ExtensionsLayer[] = [];
  const withMicrocode: { key: string | undefined; applied: AppliedBundle }[] = [];
  try {
    for (const [i, { ext, dirname }] of ordered.entries()) {
      const step = `initramfs: extension ${ext.name}`;
      throwIfAborted(o.signal, step);
      const got = obtained[i] as ObtainedIntermediate;
      // The stage refers to the bundle's bytes: the file stays until the archive is written.
      const applied = await guard(step, () =>
        applyBundle(got.path, { stage, dirname, quirks: o.quirks, step }),
      );
      if (o.talosVersion !== undefined)
        checkCompatibility(
          { version: MANIFEST_VERSION, metadata: applied.metadata },
          ext.name,
          o.talosVersion,
        );
      layers.push({ image: `${dirname}.sqsh`, metadata: applied.metadata });
      if (applied.microcode.size > 0) withMicrocode.push({ key: keys[i], applied });
    }
  } catch (e) {
    await modulesDepDone.catch(() => undefined);
    throw e;
  }
  const modulesDep = await modulesDepDone;
  if (modulesDep !== undefined) {
    const step = 'initramfs: modules.dep';
    const applied = await guard(step, () =>
      applyBundle(modulesDep.path, { stage, dirname: 'modules.dep', quirks: o.quirks, step }),
    );
    layers.push({ image: 'modules.dep.sqsh', metadata: applied.metadata });
  }

  // 4. Early microcode, concatenated across extensions in layer order.
  let prefix: string | undefined;
  if (withMicrocode.length > 0) {
    const ucodeKeys = withMicrocode.map((m) => m.key);
    const spec: IntermediateSpec | undefined = ucodeKeys.every((k) => k !== undefined)
      ? {
          type: 'microcode',
          parts: { format: MICROCODE_FORMAT, mtime: o.sourceDateEpoch ?? 0, sources: ucodeKeys },
          label: 'early microcode',
        }
      : undefined;
    const got = track(
      await guard('initramfs: microcode', () =>
        store.obtain(
          spec,
          join(bundles, 'microcode.cpio'),
          async (out) => {
            const files = new Map<string, Buffer[]>();
            for (const ucode of MICROCODE) {
              const name = ucode.dest.slice(ucode.dest.lastIndexOf('/') + 1);
              for (const m of withMicrocode) {
                const bytes = m.applied.microcode.get(name);
                if (bytes !== undefined) files.set(ucode.dest, [...(files.get(ucode.dest) ?? []), bytes]);
              }
            }
            await writeMicrocodeArchive(files, out, o.sourceDateEpoch ?? 0);
          },
          o.signal,
        ),
      ),
      spec,
    );
    prefix = got.path;
  }

  // 5. extensions.yaml and the archive.
  const extensionsYaml = emitExtensionsConfig(layers);
  stage.writeFile(
    'extensions.yaml',
    0o644,
    Buffer.from(extensionsYaml, 'utf8'),
    'initramfs: extensions.yaml',
  );
  throwIfAborted(o.signal, 'initramfs: assemble');
  await mkdir(dirname(output), { recursive: true });
  const layout = await guard('initramfs: assemble', () =>
    assembleInitramfs({
      stage,
      baseInitramfs: o.baseInitramfs,
      output,
      zstd: o.quirks.zstd,
      compression,
      prefix,
      mtime: o.sourceDateEpoch ?? 0,
      signal: o.signal,
    }),
  );
  return { path: output, extensionsYaml, layout, reused };
}

/** Version of the early-microcode archive layout: part of its key. */
const MICROCODE_FORMAT = 'microcode-1';

/** The appendix compressor's argv for the era and levels (part of asset keys). */
export function appendixCompressorArgs(zstd: boolean, c: AppendixCompression): string[] {
  return zstd ? ['zstd', ...zstdInitramfsArgs(c.zstdLevel)] : ['xz', ...xzInitramfsArgs(c.xzPreset)];
}

/** Extracts an extension's squashfs layer, for its module tree (the bundle came from the store). */
async function unsquashLayer(bundle: string, dirname: string, o: BuildInitramfsOptions): Promise<string> {
  const dir = join(o.workDir, 'layers', dirname);
  await mkdir(dir, { recursive: true });
  const image = join(o.workDir, 'layers', `${dirname}.sqsh`);
  const { path, start, size } = (await readBundleIndex(bundle)).layer;
  await pipeline(
    size === 0 ? Readable.from([]) : createReadStream(path, { start, end: start + size - 1 }),
    createWriteStream(image),
  );
  await unsquashfsExtract({
    step: 'initramfs: modules.dep: unsquashfs extension layer',
    image,
    dest: join(dir, 'rootfs'),
    signal: o.signal,
  });
  return dir;
}

/** A promise with its resolve/reject at hand (first settle wins). */
function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // observed by whoever awaits it; never unhandled
  return { promise, resolve, reject };
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function readMetadata(dir: string, name: string): Promise<ExtensionMetadata> {
  return decodeManifest(await readFile(join(dir, 'manifest.yaml'), 'utf8'), name).metadata;
}

/** Runs a step, turning unexpected errors (fs, format) into BUILD_FAILED naming the step. */
async function guard<T>(step: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isFactoryError(e)) throw e;
    // A full or read-only disk is the 507/503 every other write gives, with the step named.
    const storage = storageError(e);
    if (storage) throw new FactoryError(storage.code, `${step}: ${storage.message}`, { cause: e });
    // File system errors name absolute paths on this server: clients get the step, the log the rest.
    const message = (e instanceof Error ? e.message : String(e)).replace(/'?\/[^\s']*'?/g, '<path>');
    throw new FactoryError('BUILD_FAILED', `${step}: ${message}`, { cause: e });
  }
}

function plainLayout(size: number): AssembledLayout {
  return {
    prefixSize: 0,
    baseOffset: 0,
    baseSize: size,
    appendixOffset: size,
    appendixSize: 0,
    totalSize: size,
  };
}

/** Maps `items` through `fn`, at most `limit` at a time; waits for all, then throws the first failure. */
async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
  return results;
}
