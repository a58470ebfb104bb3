/**
 * Per-extension staging (talos-imager §2.2): early microcode appended to the stage's
 * `kernel/x86/microcode/*.bin`, firmware copied to the stage (it is loaded from the initramfs,
 * not the squashfs), then the rest of the rootfs squashed to `<stage>/<dirname>.sqsh`.
 *
 * The input directory is never modified: where the imager deletes microcode and moves the
 * firmware tree out, we copy and tell mksquashfs to leave the firmware tree out, which gives
 * the same squashfs contents and lets callers reuse unpacked extensions.
 */
import {
  appendFile,
  chmod,
  lstat,
  mkdir,
  readFile,
  readdir,
  realpath,
  stat,
  writeFile,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FactoryError } from '../../errors.js';
import { mksquashfs } from '../tools/mksquashfs.js';
import { copyFollowing, resolveInside } from './copy.js';
import { firmwareDir, MICROCODE, type InitramfsQuirks } from './paths.js';

/** One extension ready for staging. */
export interface StagedExtensionInput {
  /** Name for messages. */
  name: string;
  /** Directory holding `rootfs/`. */
  dir: string;
  /** Staging directory name: `0`, `1`, … or `modules.dep`. */
  dirname: string;
}

/** Shared settings for staging. */
export interface StageContext {
  stage: string;
  workDir: string;
  quirks: InitramfsQuirks;
  signal?: AbortSignal;
  sourceDateEpoch?: number;
}

/** A staged extension: its squashfs file name and the (independent) step that writes it. */
export interface StagedExtension {
  sqsh: string;
  squash(): Promise<void>;
}

/** Stages one extension; returns the squashfs file name (e.g. `0.sqsh`). */
export async function stageExtension(ext: StagedExtensionInput, ctx: StageContext): Promise<string> {
  const staged = await stageExtensionFiles(ext, ctx);
  await staged.squash();
  return staged.sqsh;
}

/**
 * Copies an extension's microcode and firmware into the stage (order matters across extensions:
 * later ones overwrite earlier files) and returns the squash step, which only reads the
 * extension's own rootfs and can run concurrently with the others.
 */
export async function stageExtensionFiles(
  ext: StagedExtensionInput,
  ctx: StageContext,
): Promise<StagedExtension> {
  const step = `initramfs: extension ${ext.name}`;
  const rootfs = join(ext.dir, 'rootfs');
  const fwRel = firmwareDir(ctx.quirks);
  const fwAbs = join(rootfs, fwRel);
  const realRoot = await realpath(ext.dir);
  // Like the imager: firmware handling only happens when the firmware dir resolves.
  const fwStat = await stat(fwAbs).catch(() => undefined);
  const hasFirmware = fwStat?.isDirectory() === true;
  const consumed = new Set<string>();
  if (hasFirmware) {
    await resolveInside(fwAbs, realRoot, `${step}: firmware`);
    for (const ucode of MICROCODE) {
      await collectMicrocode(
        join(fwAbs, ucode.dir),
        ucode,
        realRoot,
        join(ctx.stage, ucode.dest),
        consumed,
        `${step}: microcode`,
      );
    }
    // MkdirAll in the imager gives missing parents the firmware dir's own mode.
    await mkdirLike(join(ctx.stage, fwRel), fwStat?.mode ?? 0o755);
    await copyFollowing(fwAbs, join(ctx.stage, fwRel), {
      root: ext.dir,
      skip: consumed,
      step: `${step}: firmware`,
    });
  }
  const sqsh = `${ext.dirname}.sqsh`;
  let excludeFile: string | undefined;
  if (hasFirmware) {
    excludeFile = join(ctx.workDir, `exclude-${ext.dirname}.txt`);
    await writeFile(excludeFile, `${fwRel}\n`);
  }
  const squash = async (): Promise<void> => {
    await mksquashfs({
      step: `${step}: squash`,
      source: rootfs,
      dest: join(ctx.stage, sqsh),
      compression: ctx.quirks.zstd ? 'zstd' : 'xz',
      excludeFile,
      sourceDateEpoch: ctx.sourceDateEpoch,
      signal: ctx.signal,
    });
    // The cpio records this mode; do not let the process umask decide it.
    await chmod(join(ctx.stage, sqsh), 0o644);
  };
  return { sqsh, squash };
}

/** Appends matching microcode files (name-sorted, like Go's Glob) to `dest`; records them as consumed. */
async function collectMicrocode(
  dir: string,
  ucode: (typeof MICROCODE)[number],
  realRoot: string,
  dest: string,
  consumed: Set<string>,
  step: string,
): Promise<void> {
  const dirStat = await stat(dir).catch(() => undefined);
  if (dirStat === undefined || !dirStat.isDirectory()) return;
  await resolveInside(dir, realRoot, step);
  const names = (await readdir(dir))
    .filter(ucode.match)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  if (names.length === 0) return;
  await mkdirLike(dirname(dest), 0o755);
  const existed = await lstat(dest).then(
    () => true,
    () => false,
  );
  for (const name of names) {
    const src = join(dir, name);
    const real = await resolveInside(src, realRoot, step);
    if (!(await stat(real)).isFile())
      throw new FactoryError('BUILD_FAILED', `${step}: ${src} is not a regular file`);
    await appendFile(dest, await readFile(real));
    consumed.add(src);
  }
  if (!existed) await chmod(dest, 0o644);
}

/** mkdir -p where every created directory gets `mode` (umask 022 applied), as Go's MkdirAll does. */
export async function mkdirLike(path: string, mode: number): Promise<void> {
  const missing: string[] = [];
  let cur = path;
  while (
    !(await lstat(cur).then(
      () => true,
      () => false,
    ))
  ) {
    missing.unshift(cur);
    const up = dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  for (const d of missing) {
    await mkdir(d);
    await chmod(d, mode & 0o777 & ~0o022);
  }
}
