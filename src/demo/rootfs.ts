/**
 * The fixture's base `rootfs.sqsh`: a stand-in for the Talos rootfs holding what the factory reads
 * from it — exactly one `<modules-root>/<kver>/` tree (a handful of real Debian modules plus the
 * `modules.*` files) — and an os-release naming the fixture version.
 */
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DebianKernel } from './debian.js';
import { run } from './exec.js';
import type { FixtureVersionSpec } from './versions.js';

/**
 * Modules in the base tree: the two the init needs to mount squashfs images, plus `fat`, which
 * the module extension's `vfat.ko` depends on (so the factory's depmod must resolve a dependency
 * that crosses from an extension into the base).
 */
export const BASE_MODULES = [
  'kernel/drivers/block/loop.ko',
  'kernel/fs/fat/fat.ko',
  'kernel/fs/squashfs/squashfs.ko',
] as const;

/** Debian ships these `modules.*` files in the package; depmod generates the rest (modules.dep, …). */
const SHIPPED_MODULE_FILES = ['modules.builtin', 'modules.builtin.modinfo', 'modules.order'] as const;

/** Options for {@link buildRootfs}. */
export interface RootfsOptions {
  spec: FixtureVersionSpec;
  kernel: DebianKernel;
  /** Scratch directory (created). */
  workDir: string;
  outFile: string;
  /** SOURCE_DATE_EPOCH for file and filesystem times. */
  epoch: number;
}

/** Builds `rootfs.sqsh` for one version and arch (xz like Talos 1.5, zstd from 1.8). */
export async function buildRootfs(opts: RootfsOptions): Promise<void> {
  const { spec, kernel } = opts;
  const root = path.join(opts.workDir, 'rootfs');
  const kdir = path.join(root, spec.modulesRoot, kernel.kver);
  for (const rel of BASE_MODULES) {
    await mkdir(path.dirname(path.join(kdir, rel)), { recursive: true });
    await copyFile(path.join(kernel.modulesDir, rel), path.join(kdir, rel));
  }
  for (const f of SHIPPED_MODULE_FILES) await copyFile(path.join(kernel.modulesDir, f), path.join(kdir, f));
  // depmod -b X looks in X/lib/modules: for /usr/lib/modules the base is <root>/usr (as Talos ≥ 1.10 does).
  const base = spec.usrLib ? path.join(root, 'usr') : root;
  await run('depmod', ['-b', base, kernel.kver], { step: `depmod rootfs ${spec.tag}/${kernel.arch}` });
  if (spec.usrLib) await symlink('usr/lib', path.join(root, 'lib'));
  await mkdir(path.join(root, 'etc'), { recursive: true });
  await writeFile(
    path.join(root, 'etc', 'os-release'),
    `NAME="Talos"\nID=talos\nVERSION_ID=${spec.tag}\nPRETTY_NAME="Talos (${spec.tag}) fixture"\nHOME_URL="https://www.talos.dev/"\n`,
  );
  const comp = spec.zstd
    ? ['-comp', 'zstd', '-Xcompression-level', '19']
    : ['-comp', 'xz', '-Xdict-size', '100%'];
  const t = String(opts.epoch);
  await run(
    'mksquashfs',
    [
      root,
      opts.outFile,
      '-all-root',
      '-noappend',
      '-no-progress',
      '-no-xattrs',
      '-mkfs-time',
      t,
      '-all-time',
      t,
      ...comp,
    ],
    { step: `mksquashfs rootfs ${spec.tag}/${kernel.arch}` },
  );
}
