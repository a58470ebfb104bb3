/**
 * The fixture's base `initramfs.xz`, laid out like Talos' (talos-imager.md §1.1): a newc cpio of
 * `init`, `rootfs.sqsh` and `lib*` — here plus busybox and the two modules the init must insmod
 * (squashfs and loop are modules in the Debian kernel) — xz with CRC32 before 1.8, zstd from 1.8
 * (still named `initramfs.xz`).
 */
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEMO_ASSETS_DIR } from './package-root.js';
import type { DebianKernel } from './debian.js';
import { fakeBytes } from './hash.js';
import { run, sh } from './exec.js';
import type { FixtureVersionSpec } from './versions.js';

/** Directory of the init script and its awk helper. */
// The repository's copy: tsc does not copy non-TS assets into dist/.
export const ASSETS_DIR = DEMO_ASSETS_DIR;

/** Firmware the 1.5-like base initramfs carries itself (Talos 1.5 put bnx2/ice firmware there). */
export const BASE_FIRMWARE = [{ path: 'lib/firmware/bnx2/bnx2-fixture-base.fw', size: 640 }] as const;

/** Options for {@link buildInitramfs}. */
export interface InitramfsOptions {
  spec: FixtureVersionSpec;
  kernel: DebianKernel;
  /** Static busybox for the kernel's arch. */
  busybox: string;
  rootfsSqsh: string;
  workDir: string;
  outFile: string;
  epoch: number;
}

/** Builds the base initramfs for one version and arch. */
export async function buildInitramfs(opts: InitramfsOptions): Promise<void> {
  const { spec, kernel } = opts;
  const stage = path.join(opts.workDir, 'initramfs');
  await mkdir(path.join(stage, 'bin'), { recursive: true });
  await mkdir(path.join(stage, 'dev'), { recursive: true });
  await mkdir(path.join(stage, 'lib', 'fixture'), { recursive: true });
  await copyFile(path.join(ASSETS_DIR, 'init'), path.join(stage, 'init'));
  await chmod(path.join(stage, 'init'), 0o755);
  await copyFile(opts.busybox, path.join(stage, 'bin', 'busybox'));
  await chmod(path.join(stage, 'bin', 'busybox'), 0o755);
  await copyFile(path.join(ASSETS_DIR, 'layers.awk'), path.join(stage, 'lib', 'fixture', 'layers.awk'));
  await copyFile(
    path.join(kernel.modulesDir, 'kernel/fs/squashfs/squashfs.ko'),
    path.join(stage, 'lib', 'fixture', 'squashfs.ko'),
  );
  await copyFile(
    path.join(kernel.modulesDir, 'kernel/drivers/block/loop.ko'),
    path.join(stage, 'lib', 'fixture', 'loop.ko'),
  );
  await copyFile(opts.rootfsSqsh, path.join(stage, 'rootfs.sqsh'));
  if (spec.baseFirmware) {
    for (const fw of BASE_FIRMWARE) {
      await mkdir(path.dirname(path.join(stage, fw.path)), { recursive: true });
      await writeFile(
        path.join(stage, fw.path),
        fakeBytes(`base-firmware:${fw.path}:${kernel.arch}`, fw.size),
      );
    }
  }
  const compress = spec.zstd ? 'zstd -T0 -19 -c -q' : 'xz -C crc32 -0 -e -T 0 -z -c';
  // Same recipe as Talos' Dockerfile: touch to SOURCE_DATE_EPOCH, sorted `find .`, reproducible newc.
  await sh(
    `cd "$STAGE" && find . -exec touch -h -d @"$EPOCH" {} + && find . | LC_ALL=C sort | cpio -H newc -o --reproducible -R +0:+0 --quiet | ${compress} > "$OUT"`,
    {
      env: { ...process.env, STAGE: stage, EPOCH: String(opts.epoch), OUT: opts.outFile },
      step: `initramfs ${spec.tag}/${kernel.arch}`,
    },
  );
  await run(spec.zstd ? 'zstd' : 'xz', ['-t', '-q', opts.outFile], {
    step: `verify initramfs ${spec.tag}/${kernel.arch}`,
  });
}
