/**
 * SBC overlay installers (talos-imager §8 + errata E15). An overlay image keeps `artifacts/…`,
 * `installers/<name>` (or `installers/default`) and `profiles/*.yaml` at its root. The installer
 * speaks YAML on stdin:
 *
 * - `get-options` gets the schematic's `overlay.options` → prints `{name, kernelArgs[],
 *   partitionOptions: {offset}}` (extra kernel args; LBAs to skip before the GPT entry array);
 * - `install` gets `{installDisk, mountPrefix, artifactsPath, extraOptions}` → writes boot
 *   firmware into the raw disk file and files under `<mountPrefix>/boot/EFI` (ESP) and
 *   `<mountPrefix>/boot` (BOOT), which become part of the image's file systems.
 *
 * Installers are untrusted: they run sandboxed (tools/sandboxed.ts: timeout, no network when
 * possible, scratch directory, bounded output), the tree they leave is bounded and may hold only
 * regular files and directories, and their writes into the disk must stay outside the partitions
 * (checked through the file's data extents) and keep the partition table intact.
 */
import { lstat, mkdir, open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FactoryError } from '../../errors.js';
import { emitYaml, go } from '../../schematic/goyaml/index.js';
import type { YamlMap } from '../../schematic/types.js';
import { yamlMapToGo } from '../../schematic/yaml-value.js';
import { parseGpt, partitionExtent, type GptTable } from '../formats/gpt.js';
import { runSandboxed } from '../tools/sandboxed.js';
import { dataExtents } from '../tools/xfs-io.js';
import type { FileTree, TreeFile } from './tree.js';

/** Bounds on one installer run (user-facing knobs belong in the config). */
export interface OverlayLimits {
  timeoutMs: number;
  maxOutputBytes: number;
  /** Total bytes of files the installer may leave under the mount prefix. */
  maxTreeBytes: number;
  maxTreeEntries: number;
}

/** Defaults: 2 minutes, 1 MiB of output, 512 MiB / 10 000 entries of boot files. */
export const DEFAULT_OVERLAY_LIMITS: OverlayLimits = {
  timeoutMs: 120_000,
  maxOutputBytes: 1024 * 1024,
  maxTreeBytes: 512 * 1024 * 1024,
  maxTreeEntries: 10_000,
};

/** An extracted overlay image and the overlay chosen in the schematic. */
export interface OverlaySource {
  /** Directory holding the overlay image's root (`artifacts/`, `installers/`, `profiles/`). */
  root: string;
  /** Overlay name from the schematic, e.g. `rpi_generic`. */
  name: string;
  /** The schematic's `overlay.options`. */
  options?: YamlMap;
}

/** What `get-options` answered. */
export interface OverlayOptions {
  name: string;
  kernelArgs: string[];
  /** `partitionOptions.offset`: LBAs skipped before the GPT entries (0 when absent). */
  partitionOffset: number;
}

/** `installers/<name>` when the image has it, else `installers/default`. */
export async function overlayInstaller(o: OverlaySource): Promise<string> {
  if (!/^[A-Za-z0-9._-]+$/.test(o.name) || o.name.startsWith('.'))
    throw new FactoryError(
      'BAD_REQUEST',
      `overlay name ${JSON.stringify(o.name)} is not a valid installer name`,
    );
  for (const candidate of [o.name, 'default']) {
    const p = path.join(o.root, 'installers', candidate);
    const st = await lstat(p).catch(() => undefined);
    if (st?.isFile()) return p;
  }
  throw new FactoryError(
    'BUILD_FAILED',
    `overlay ${o.name}: the image has no installers/${o.name} or installers/default`,
  );
}

/** The options as YAML, as the Go side would marshal them (`{}` when there are none). */
export function overlayOptionsYaml(options: YamlMap | undefined): string {
  return emitYaml(options === undefined ? go.map([]) : yamlMapToGo(options));
}

/** Runs `get-options` and checks the answer. */
export async function overlayGetOptions(
  o: OverlaySource,
  scratchDir: string,
  limits: OverlayLimits = DEFAULT_OVERLAY_LIMITS,
  signal?: AbortSignal,
): Promise<OverlayOptions> {
  const step = `overlay ${o.name}: get-options`;
  const installer = await overlayInstaller(o);
  await mkdir(scratchDir, { recursive: true });
  const { stdout } = await runSandboxed(installer, ['get-options'], {
    step,
    stdin: overlayOptionsYaml(o.options),
    cwd: scratchDir,
    timeoutMs: limits.timeoutMs,
    maxOutputBytes: limits.maxOutputBytes,
    signal,
  });
  let doc: unknown;
  try {
    doc = parseYaml(stdout, { maxAliasCount: 10 });
  } catch (e) {
    throw new FactoryError('BUILD_FAILED', `${step}: answer is not YAML: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const bad = (why: string): never => {
    throw new FactoryError('BUILD_FAILED', `${step}: ${why}`);
  };
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) bad('answer is not a mapping');
  const m = doc as Record<string, unknown>;
  const name = m.name ?? o.name;
  if (typeof name !== 'string') bad('name is not a string');
  const args = m.kernelArgs ?? [];
  if (!Array.isArray(args) || !args.every((a): a is string => typeof a === 'string'))
    bad('kernelArgs is not a list of strings');
  const po = (m.partitionOptions ?? {}) as Record<string, unknown>;
  const offset = po.offset ?? 0;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0 || offset > 1 << 20)
    bad('partitionOptions.offset is not a small non-negative integer');
  return { name: name as string, kernelArgs: args as string[], partitionOffset: offset as number };
}

/** Options of {@link overlayInstall}. */
export interface OverlayInstallOptions {
  /** The raw disk file with its partition table already written. */
  installDisk: string;
  table: GptTable;
  /** Scratch directory: the mount prefix and the installer's cwd live below it. */
  scratchDir: string;
  limits?: OverlayLimits;
  signal?: AbortSignal;
}

/** Files the installer produced, split by target file system. */
export interface OverlayFiles {
  espFiles: FileTree;
  bootFiles: FileTree;
  isolated: boolean;
}

/** Runs `install`, verifies what it did and returns the files it left for the ESP and BOOT. */
export async function overlayInstall(o: OverlaySource, i: OverlayInstallOptions): Promise<OverlayFiles> {
  const step = `overlay ${o.name}: install`;
  const limits = i.limits ?? DEFAULT_OVERLAY_LIMITS;
  const installer = await overlayInstaller(o);
  const prefix = path.join(i.scratchDir, 'mnt');
  const cwd = path.join(i.scratchDir, 'cwd');
  await mkdir(path.join(prefix, 'boot', 'EFI'), { recursive: true });
  await mkdir(cwd, { recursive: true });
  const before = (await stat(i.installDisk)).size;
  const request = go.struct([
    go.field('installDisk', go.str(i.installDisk)),
    go.field('mountPrefix', go.str(prefix)),
    go.field('artifactsPath', go.str(path.join(o.root, 'artifacts'))),
    go.field('extraOptions', o.options === undefined ? go.map([]) : yamlMapToGo(o.options)),
  ]);
  const { isolated } = await runSandboxed(installer, ['install'], {
    step,
    stdin: emitYaml(request),
    cwd,
    timeoutMs: limits.timeoutMs,
    maxOutputBytes: limits.maxOutputBytes,
    signal: i.signal,
  });
  if ((await stat(i.installDisk)).size !== before)
    throw new FactoryError('BUILD_FAILED', `${step}: changed the disk size`);
  await verifyDiskWrites(i.installDisk, i.table, step);
  const files = await collectTree(prefix, limits, step);
  const espFiles: TreeFile[] = [];
  const bootFiles: TreeFile[] = [];
  for (const f of files) {
    if (f.path.startsWith('boot/EFI/')) espFiles.push({ ...f, path: f.path.slice('boot/EFI/'.length) });
    else if (f.path.startsWith('boot/')) bootFiles.push({ ...f, path: f.path.slice('boot/'.length) });
    else throw new FactoryError('BUILD_FAILED', `${step}: wrote ${JSON.stringify(f.path)} outside boot/`);
  }
  return { espFiles, bootFiles, isolated };
}

/** The installer may write only outside the partitions, and must leave the GPT intact. */
async function verifyDiskWrites(disk: string, table: GptTable, step: string): Promise<void> {
  const parts = table.partitions.map((p) => partitionExtent(table, p));
  for (const e of await dataExtents(disk, { step })) {
    const hit = parts.find((p) => e.start < p.offset + p.length && e.end > p.offset);
    if (hit !== undefined)
      throw new FactoryError(
        'BUILD_FAILED',
        `${step}: wrote into the partitions (bytes ${e.start}–${e.end})`,
      );
  }
  const fh = await open(disk, 'r');
  try {
    await parseGpt(
      async (offset, length) => {
        const b = Buffer.alloc(length);
        await fh.read(b, 0, length, offset);
        return b;
      },
      table.diskBytes,
      table.sectorSize,
    );
  } catch (e) {
    throw new FactoryError('BUILD_FAILED', `${step}: damaged the partition table: ${(e as Error).message}`, {
      cause: e,
    });
  } finally {
    await fh.close();
  }
}

/** Regular files under `root` (relative paths), bounded; anything else is refused. */
async function collectTree(root: string, limits: OverlayLimits, step: string): Promise<TreeFile[]> {
  const out: TreeFile[] = [];
  let bytes = 0;
  let entries = 0;
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(path.join(root, rel))).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(path.join(root, r));
      if (++entries > limits.maxTreeEntries)
        throw new FactoryError('BUILD_FAILED', `${step}: left more than ${limits.maxTreeEntries} entries`);
      if (st.isDirectory()) await walk(r);
      else if (st.isFile()) {
        bytes += st.size;
        if (bytes > limits.maxTreeBytes)
          throw new FactoryError(
            'BUILD_FAILED',
            `${step}: left more than ${limits.maxTreeBytes} bytes of files`,
          );
        out.push({ path: r, source: { path: path.join(root, r) }, mode: st.mode & 0o777 });
      } else throw new FactoryError('BUILD_FAILED', `${step}: ${JSON.stringify(r)} is not a regular file`);
    }
  };
  await walk('');
  return out;
}
