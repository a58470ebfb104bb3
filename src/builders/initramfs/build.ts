/**
 * The initramfs with system extensions (talos-imager §2): the stock initramfs is never
 * rebuilt; extension squashfs layers, `extensions.yaml` and firmware are appended in a
 * compressed cpio, early microcode is prepended uncompressed. Steps in the imager's order:
 * modules.dep (reads the unmodified base), per-extension staging in directory-name order,
 * `extensions.yaml`, cpio assembly.
 */
import { chmod, copyFile, mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FactoryError, isFactoryError } from '../../errors.js';
import type { ExtensionMetadata } from '../extensions/manifest.js';
import { emitExtensionsConfig, type ExtensionsLayer } from '../extensions/manifest-yaml.js';
import { decodeManifest } from '../extensions/validate.js';
import { throwIfAborted } from '../tools/run.js';
import { tempPathFor } from '../../util/atomic-file.js';
import { assembleInitramfs, type AssembledLayout } from './assemble.js';
import { buildModulesDep } from './modules-dep.js';
import type { InitramfsQuirks } from './paths.js';
import { stageExtensionFiles } from './stage-extension.js';

/** One extension, already unpacked and validated. */
export interface InitramfsExtension {
  /** Name for messages, e.g. `siderolabs/gvisor`. */
  name: string;
  /** Directory holding `manifest.yaml` and `rootfs/`; read, never modified. */
  dir: string;
  /** Manifest metadata; read from `dir/manifest.yaml` when omitted. */
  metadata?: ExtensionMetadata;
}

/** Inputs of {@link buildInitramfs}. */
export interface BuildInitramfsOptions {
  /** The release's stock initramfs (xz or zstd; gzip/cpio accepted for fixtures). */
  baseInitramfs: string;
  /** In request order; the virtual schematic extension last. */
  extensions: readonly InitramfsExtension[];
  quirks: InitramfsQuirks;
  /** Scratch directory (created if missing); everything is built inside it. */
  workDir: string;
  /** Result path; default `<workDir>/initramfs.xz`. */
  output?: string;
  /** Fixed timestamp for cpio entries and squashfs images (default: cpio 0, squashfs untouched). */
  sourceDateEpoch?: number;
  signal?: AbortSignal;
}

/** What was built. */
export interface InitramfsResult {
  path: string;
  /** `extensions.yaml` exactly as written into the initramfs. */
  extensionsYaml: string;
  layout: AssembledLayout;
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
    return { path: output, extensionsYaml: '', layout: plainLayout((await stat(output)).size) };
  }
  const stage = join(o.workDir, 'stage');
  await mkdir(stage, { recursive: true });
  if ((await readdir(stage)).length > 0) {
    throw new FactoryError('BUILD_FAILED', 'initramfs: the work directory already holds a stage');
  }

  // Staging directories are named by input index and listed by name as strings (`10` < `2`).
  const ordered: (InitramfsExtension & { dirname: string; metadata: ExtensionMetadata })[] = [];
  for (const [index, ext] of o.extensions.entries()) {
    ordered.push({
      ...ext,
      dirname: String(index),
      metadata: ext.metadata ?? (await readMetadata(ext.dir, ext.name)),
    });
  }
  ordered.sort((a, b) => (a.dirname < b.dirname ? -1 : a.dirname > b.dirname ? 1 : 0));

  // modules.dep only reads the extensions and the base initramfs: it runs while files are staged.
  const modulesDepStep = guard('initramfs: modules.dep', () =>
    buildModulesDep({
      baseInitramfs: o.baseInitramfs,
      extensions: ordered,
      quirks: o.quirks,
      workDir: o.workDir,
      signal: o.signal,
    }),
  );
  modulesDepStep.catch(() => undefined); // awaited below; keep an early failure from going unhandled

  const ctx = {
    stage,
    workDir: o.workDir,
    quirks: o.quirks,
    signal: o.signal,
    sourceDateEpoch: o.sourceDateEpoch,
  };
  // Firmware and microcode copies are sequential (later extensions overwrite earlier files); each
  // squashfs only reads its own extension, so those run two at a time (process start-up dominates
  // small extensions, and mksquashfs is multi-threaded for big ones).
  const squashes: (() => Promise<void>)[] = [];
  const layers: ExtensionsLayer[] = [];
  try {
    for (const ext of ordered) {
      throwIfAborted(o.signal, `initramfs: extension ${ext.name}`);
      const step = `initramfs: extension ${ext.name}`;
      const staged = await guard(step, () => stageExtensionFiles(ext, ctx));
      squashes.push(() => guard(step, staged.squash));
      layers.push({ image: staged.sqsh, metadata: ext.metadata });
    }
  } catch (e) {
    // Let the concurrent modules.dep step finish before the caller removes the work dir under it.
    await modulesDepStep.catch(() => undefined);
    throw e;
  }
  const modulesDep = await modulesDepStep;
  if (modulesDep !== undefined) {
    const staged = await guard('initramfs: modules.dep', () =>
      stageExtensionFiles({ name: 'modules.dep', dir: modulesDep.dir, dirname: 'modules.dep' }, ctx),
    );
    squashes.push(() => guard('initramfs: modules.dep', staged.squash));
    layers.push({ image: staged.sqsh, metadata: modulesDep.metadata });
  }
  await runAll(squashes, 2);

  const extensionsYaml = emitExtensionsConfig(layers);
  await writeFile(join(stage, 'extensions.yaml'), extensionsYaml);
  await chmod(join(stage, 'extensions.yaml'), 0o644);
  throwIfAborted(o.signal, 'initramfs: assemble');
  await mkdir(dirname(output), { recursive: true });
  const layout = await guard('initramfs: assemble', () =>
    assembleInitramfs({
      stage,
      baseInitramfs: o.baseInitramfs,
      output,
      zstd: o.quirks.zstd,
      mtime: o.sourceDateEpoch ?? 0,
      signal: o.signal,
    }),
  );
  return { path: output, extensionsYaml, layout };
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

/** Runs `jobs` at most `limit` at a time; waits for all, then throws the first failure. */
async function runAll(jobs: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++];
      try {
        await job?.();
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  if (errors.length > 0) throw errors[0];
}
