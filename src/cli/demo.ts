/**
 * `image-factory demo`: builds the demo release — small bootable Talos-like releases for amd64
 * and arm64, made from Debian packages (`src/demo/`) — into `<dataDir>/demo-release` as OCI
 * layouts, for `artifacts.source: oci-layout`. Downloads (about 130 MB, once) and built sets are
 * cached (default `<dataDir>/demo-cache`); a demo release already in place is kept unless
 * `--force`. Prints the layout directory on stdout.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { loadConfig, type ConfigFlags } from '../config/load.js';
import { buildDemoReleases, MANIFEST_FILE } from '../demo/build.js';
import { DebianPackages, type DebArch } from '../demo/debian.js';
import type { FixtureManifest } from '../demo/manifest.js';
import { FactoryError } from '../errors.js';

/** Options of the demo command. */
export interface DemoOptions {
  arches?: readonly DebArch[];
  force?: boolean;
  quiet?: boolean;
  /**
   * Download and build cache (default `<dataDir>/demo-cache`): Debian packages in `debs/`, built
   * sets in `fixtures/` — the test cache's layout, so `--cache` can point at it and share it.
   */
  cacheDir?: string;
}

/** The demo release directory for a configuration. */
export function demoReleaseDir(dataDir: string): string {
  return join(resolve(dataDir), 'demo-release');
}

async function existing(dir: string, arches: readonly DebArch[]): Promise<FixtureManifest | undefined> {
  const file = join(dir, MANIFEST_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const m = JSON.parse(await readFile(file, 'utf8')) as FixtureManifest;
    return arches.every((a) => m.arches.includes(a)) ? m : undefined;
  } catch {
    return undefined;
  }
}

/** The GRUB arm64-efi module directory the demo provides (`build.grubDirs.arm64Efi`). */
export function demoGrubArm64Dir(dataDir: string): string {
  return join(resolve(dataDir), 'demo-grub', 'arm64-efi');
}

/**
 * Builds (or keeps) the demo release; returns its directory. With arm64, GRUB's arm64-efi modules
 * come along (Debian ships them only for arm64: `grub-efi-arm64-bin:arm64`, fetched with
 * `apt-get download` like the demo kernels), so the arm64 GRUB ISOs and disk images of the demo's
 * older versions work too.
 */
export async function demo(flags: ConfigFlags, options: DemoOptions = {}): Promise<string> {
  const config = loadConfig(flags);
  const dir = demoReleaseDir(config.dataDir);
  const arches = options.arches ?? (['amd64', 'arm64'] as const);
  const grubDir = demoGrubArm64Dir(config.dataDir);
  const needGrub = arches.includes('arm64') && !existsSync(join(grubDir, 'moddep.lst'));
  const have = !options.force && (await existing(dir, arches));
  if (have && !needGrub) return dir;
  const log = options.quiet
    ? undefined
    : (line: string): void => void process.stderr.write(`demo: ${line}\n`);
  const cache = resolve(options.cacheDir ?? join(config.dataDir, 'demo-cache'));
  const debs = new DebianPackages({ cacheDir: join(cache, 'debs'), ...(log ? { log } : {}) });
  if (!have) {
    log?.(`building the demo release (${arches.join(', ')}) into ${dir}`);
    await buildDemoReleases({
      outDir: dir,
      arches,
      cacheRoot: join(cache, 'fixtures'),
      debs,
      force: options.force === true,
      ...(log ? { log } : {}),
    });
  }
  if (arches.includes('arm64') && (options.force || needGrub)) {
    const grub = await debs.grubArm64Efi();
    const tmp = `${grubDir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(dirname(grubDir), { recursive: true });
    await cp(grub.dir, tmp, { recursive: true });
    await rm(grubDir, { recursive: true, force: true });
    await rename(tmp, grubDir);
  }
  return dir;
}

/** Parses `--arches amd64,arm64`. */
export function parseArches(text: string | undefined): DebArch[] | undefined {
  if (text === undefined) return undefined;
  const list = text
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  for (const a of list) {
    if (a !== 'amd64' && a !== 'arm64') {
      throw new FactoryError('CONFIG_INVALID', `--arches: unknown arch "${a}" (amd64, arm64)`);
    }
  }
  if (list.length === 0) throw new FactoryError('CONFIG_INVALID', '--arches: name amd64 and/or arm64');
  return list as DebArch[];
}
