/**
 * Copying a tree the way the imager "moves" firmware and module trees (errata E4): symlinks
 * are followed and materialised as copies, modes go through a 022 umask, directories and files
 * that already exist keep their mode (Go's `os.OpenFile(O_CREATE)`). Unlike the imager we
 * resolve links ourselves and refuse any that leave the extension (absolute links would resolve
 * on the build host) or loop. The walk and the placing are separate so an extension's firmware
 * can be recorded once (in its cached bundle) and placed into many stages later, identically.
 */
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FactoryError } from '../../errors.js';

/** Context for {@link copyFollowing} and {@link walkFollowing}. */
export interface CopyContext {
  /** The extension directory every resolved path must stay inside. */
  root: string;
  /** Source paths (as walked, before link resolution) to leave out. */
  skip?: ReadonlySet<string>;
  /** Step name for error messages. */
  step: string;
}

/** The umask the imager's file operations run under. */
export const UMASK = 0o022;

/** One entry of a followed walk: symlinks already resolved to what they lead to. */
export interface FollowedEntry {
  /** Path relative to the walk's start ('' for the start itself), `/`-separated. */
  rel: string;
  kind: 'dir' | 'file';
  /** Permission bits of the resolved file (`st_mode & 0o7777`). */
  mode: number;
  /** Resolved path of a file's bytes. */
  real: string;
}

/** Walks `src` pre-order (names sorted by bytes), following symlinks that stay inside `ctx.root`. */
export async function* walkFollowing(src: string, ctx: CopyContext): AsyncGenerator<FollowedEntry> {
  const realRoot = await realpath(ctx.root);
  yield* walkInner(src, '', ctx, realRoot, []);
}

async function* walkInner(
  src: string,
  rel: string,
  ctx: CopyContext,
  realRoot: string,
  chain: string[],
): AsyncGenerator<FollowedEntry> {
  if (ctx.skip?.has(src) === true) return;
  const real = await resolveInside(src, realRoot, ctx.step);
  const st = await stat(real);
  if (st.isDirectory()) {
    if (chain.includes(real)) throw new FactoryError('BUILD_FAILED', `${ctx.step}: symlink loop at ${src}`);
    yield { rel, kind: 'dir', mode: st.mode & 0o7777, real };
    const names = (await readdir(src)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names)
      yield* walkInner(join(src, name), rel === '' ? name : `${rel}/${name}`, ctx, realRoot, [
        ...chain,
        real,
      ]);
  } else if (st.isFile()) {
    yield { rel, kind: 'file', mode: st.mode & 0o7777, real };
  } else {
    throw new FactoryError('BUILD_FAILED', `${ctx.step}: ${src} is not a regular file or directory`);
  }
}

/** Where a placed file's bytes come from. */
export type PlacedContent = { path: string } | AsyncIterable<Buffer>;

/**
 * Places one walked entry at `dst`: a missing directory is created with the entry's mode through
 * the umask, an existing one is kept; a file's bytes replace any existing file's (which keeps its
 * mode), a new file gets the entry's mode through the umask.
 */
export async function placeEntry(
  kind: 'dir' | 'file',
  mode: number,
  content: PlacedContent | undefined,
  dst: string,
  step: string,
  what: string,
): Promise<void> {
  const existing = await lstat(dst).catch(() => undefined);
  if (kind === 'dir') {
    if (existing === undefined) {
      await mkdir(dst);
      await chmod(dst, mode & 0o777 & ~UMASK);
    } else if (!existing.isDirectory()) {
      throw new FactoryError(
        'BUILD_FAILED',
        `${step}: cannot copy directory ${what} over non-directory ${dst}`,
      );
    }
    return;
  }
  if (existing !== undefined && !existing.isFile()) {
    throw new FactoryError('BUILD_FAILED', `${step}: cannot copy file ${what} over non-file ${dst}`);
  }
  if (content === undefined) throw new Error(`${step}: no content for ${what}`);
  if ('path' in content) await copyFile(content.path, dst);
  else await pipeline(Readable.from(content), createWriteStream(dst));
  // copyFile gives the destination the source's mode; the imager's O_CREATE keeps an existing one.
  await chmod(dst, existing === undefined ? mode & 0o777 & ~UMASK : existing.mode & 0o7777);
}

/** Copies `src` (file or directory) to `dst`, following symlinks that stay inside `ctx.root`. */
export async function copyFollowing(src: string, dst: string, ctx: CopyContext): Promise<void> {
  for await (const e of walkFollowing(src, ctx)) {
    const target = e.rel === '' ? dst : join(dst, e.rel);
    await placeEntry(
      e.kind,
      e.mode,
      e.kind === 'file' ? { path: e.real } : undefined,
      target,
      ctx.step,
      e.real,
    );
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
