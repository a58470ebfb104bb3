/**
 * The synthetic `modules.dep` extension (talos-imager §2.3): when any extension ships kernel
 * modules, take the stock module tree from the base initramfs' `rootfs.sqsh`, lay every
 * extension's modules over it, run depmod, and package the resulting `modules.*` files as one
 * more extension that is always the last layer.
 */
import { chmod, mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FactoryError } from '../../errors.js';
import type { ExtensionMetadata } from '../extensions/manifest.js';
import { DEPMOD_CONFIG, depmod } from '../tools/depmod.js';
import { throwIfAborted } from '../tools/run.js';
import { unsquashfsExtract } from '../tools/unsquashfs.js';
import { extractInitramfsMember } from './base-initramfs.js';
import { copyFollowing } from './copy.js';
import { modulesDir, type InitramfsQuirks } from './paths.js';

/** Inputs of {@link buildModulesDep}. */
export interface ModulesDepOptions {
  baseInitramfs: string;
  /** Extension directories (each holding `rootfs/`) with their names, in layer order. */
  extensions: readonly { name: string; dir: string }[];
  quirks: InitramfsQuirks;
  workDir: string;
  signal?: AbortSignal;
}

/** The synthetic extension: its directory (holding `rootfs/`) and manifest metadata. */
export interface ModulesDepExtension {
  dir: string;
  metadata: ExtensionMetadata;
  kernelVersion: string;
}

const STEP = 'initramfs: modules.dep';

/** True when the extension's rootfs has a modules directory. */
export async function providesModules(dir: string, quirks: InitramfsQuirks): Promise<boolean> {
  return stat(join(dir, 'rootfs', modulesDir(quirks))).then(
    () => true,
    () => false,
  );
}

/** Builds the modules.dep extension, or returns undefined when no extension ships modules. */
export async function buildModulesDep(o: ModulesDepOptions): Promise<ModulesDepExtension | undefined> {
  const withModules: { name: string; dir: string }[] = [];
  for (const ext of o.extensions) if (await providesModules(ext.dir, o.quirks)) withModules.push(ext);
  if (withModules.length === 0) return undefined;

  const modRel = modulesDir(o.quirks);
  const rootfsSqsh = join(o.workDir, 'rootfs.sqsh');
  await extractInitramfsMember(o.baseInitramfs, 'rootfs.sqsh', rootfsSqsh, {
    step: `${STEP}: extract rootfs.sqsh`,
    signal: o.signal,
  });
  const tree = join(o.workDir, 'modules');
  await unsquashfsExtract({
    step: `${STEP}: unsquashfs`,
    image: rootfsSqsh,
    dest: tree,
    paths: [modRel],
    signal: o.signal,
  });
  throwIfAborted(o.signal, STEP);

  const modAbs = join(tree, modRel);
  const kvers: string[] = [];
  for (const entry of await readdir(modAbs, { withFileTypes: true }).catch(() => []))
    if (entry.isDirectory()) kvers.push(entry.name);
  const kver = kvers[0];
  if (kvers.length !== 1 || kver === undefined) {
    throw new FactoryError(
      'BUILD_FAILED',
      `${STEP}: expected exactly one kernel version directory under /${modRel} in rootfs.sqsh, found ${kvers.length}${kvers.length > 0 ? ` (${kvers.join(', ')})` : ''}`,
    );
  }
  for (const ext of withModules) {
    await copyFollowing(join(ext.dir, 'rootfs', modRel), modAbs, {
      root: ext.dir,
      step: `${STEP}: copy modules of ${ext.name}`,
    });
  }

  const config = join(o.workDir, 'depmod.conf');
  await writeFile(config, DEPMOD_CONFIG);
  // depmod looks in <basedir>/lib/modules; for /usr/lib/modules the basedir is <tree>/usr.
  const basedir = join(tree, modRel.slice(0, -'lib/modules'.length));
  await depmod({ step: `${STEP}: depmod`, basedir, config, kernelVersion: kver, signal: o.signal });

  const extDir = join(o.workDir, 'modules.dep');
  const dest = join(extDir, 'rootfs', modRel, kver);
  await mkdir(dest, { recursive: true, mode: 0o755 });
  for (let d = dest; d.length >= extDir.length; d = join(d, '..')) await chmod(d, 0o755);
  const kverDir = join(modAbs, kver);
  for (const entry of await readdir(kverDir, { withFileTypes: true })) {
    if (!entry.isDirectory() && entry.name.startsWith('modules.'))
      await rename(join(kverDir, entry.name), join(dest, entry.name));
  }
  return {
    dir: extDir,
    kernelVersion: kver,
    metadata: {
      name: 'modules.dep',
      version: kver,
      author: 'Talos Machinery',
      description: 'Combined modules.dep for all extensions',
      compatibility: { talos: { version: '' } },
    },
  };
}
