/**
 * Copying a tree the way the imager "moves" firmware and module trees (errata E4): symlinks
 * are followed and materialised as copies, modes go through a 022 umask, directories that
 * already exist keep their mode. Unlike the imager we resolve links ourselves and refuse any
 * that leave the extension (absolute links would resolve on the build host) or loop.
 */
import { chmod, copyFile, lstat, mkdir, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { FactoryError } from '../../errors.js';

/** Context for {@link copyFollowing}. */
export interface CopyContext {
  /** The extension directory every resolved path must stay inside. */
  root: string;
  /** Source paths (as walked, before link resolution) to leave out. */
  skip?: ReadonlySet<string>;
  /** Step name for error messages. */
  step: string;
}

/** The umask the imager's file operations run under. */
const UMASK = 0o022;

/** Copies `src` (file or directory) to `dst`, following symlinks that stay inside `ctx.root`. */
export async function copyFollowing(src: string, dst: string, ctx: CopyContext): Promise<void> {
  const realRoot = await realpath(ctx.root);
  await copyInner(src, dst, ctx, realRoot, []);
}

async function copyInner(
  src: string,
  dst: string,
  ctx: CopyContext,
  realRoot: string,
  chain: string[],
): Promise<void> {
  if (ctx.skip?.has(src) === true) return;
  const real = await resolveInside(src, realRoot, ctx.step);
  const st = await stat(real);
  if (st.isDirectory()) {
    if (chain.includes(real)) throw new FactoryError('BUILD_FAILED', `${ctx.step}: symlink loop at ${src}`);
    const existing = await lstat(dst).catch(() => undefined);
    if (existing === undefined) {
      await mkdir(dst);
      await chmod(dst, st.mode & 0o777 & ~UMASK);
    } else if (!existing.isDirectory()) {
      throw new FactoryError(
        'BUILD_FAILED',
        `${ctx.step}: cannot copy directory ${src} over non-directory ${dst}`,
      );
    }
    const names = (await readdir(src)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names)
      await copyInner(join(src, name), join(dst, name), ctx, realRoot, [...chain, real]);
  } else if (st.isFile()) {
    const existing = await lstat(dst).catch(() => undefined);
    if (existing !== undefined && !existing.isFile()) {
      throw new FactoryError('BUILD_FAILED', `${ctx.step}: cannot copy file ${src} over non-file ${dst}`);
    }
    await copyFile(real, dst);
    // A file that already existed keeps its mode, as with O_CREATE in the imager.
    if (existing === undefined) await chmod(dst, st.mode & 0o777 & ~UMASK);
  } else {
    throw new FactoryError('BUILD_FAILED', `${ctx.step}: ${src} is not a regular file or directory`);
  }
}

/** realpath of `path`, which must exist and lie inside `realRoot`. */
export async function resolveInside(path: string, realRoot: string, step: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why =
      code === 'ENOENT'
        ? 'is a dangling symlink'
        : code === 'ELOOP'
          ? 'is a symlink loop'
          : `cannot be resolved (${code ?? String(e)})`;
    throw new FactoryError('BUILD_FAILED', `${step}: ${path} ${why}`, { cause: e });
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) {
    throw new FactoryError(
      'BUILD_FAILED',
      `${step}: ${path} is a symlink that leads outside the extension (${real})`,
    );
  }
  return real;
}
