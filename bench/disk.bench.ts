/**
 * Benchmark: a metal GRUB raw disk image (v1.8.3 fixture: kernel + base initramfs; EFI, BIOS,
 * BOOT 1000 MiB, META) at 1246 MiB (the metal default; 1 GiB cannot hold the layout) and 8 GiB — build time ratio (goal ≤ 1.5×) and bytes actually
 * written/allocated — and `buildRawDiskImage` against the same steps as a bare bash pipeline
 * (grub-mkimage, mkfs.vfat + mcopy, mkfs.xfs -p, sgdisk, dd conv=sparse; bench/lib/disk-reference.ts)
 * run interleaved in this process (goal ≤ 1.1×). Medians of BENCH_RUNS runs after a warm-up.
 */
import { lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildRawDiskImage } from '../src/builders/disk/build-raw.js';
import { renderGrubCfg } from '../src/builders/disk/grub-cfg.js';
import { xfsConfigText } from '../src/builders/disk/xfs-config.js';
import { fixtureReleases } from '../test/helpers/fixture-factory.js';
import { runReferenceDisk } from './lib/disk-reference.js';
import { envNumber, figure, median, timed } from './lib/report.js';

const RUNS = envNumber('BENCH_RUNS', 5);
const VERSION = 'v1.8.3';
// 1 GiB cannot hold EFI 100 + BIOS 1 + BOOT 1000 + META 1 MiB; the metal default size is the small case.
const SMALL_MIB = 1246;
const CMDLINE = 'talos.platform=metal console=tty0 console=ttyS0';

const fx = await fixtureReleases();
const art = fx.versions.find((v) => v.spec.tag === VERSION)!.artifacts.amd64!;
const kernel = path.join(fx.root, art.vmlinuz);
const initramfs = path.join(fx.root, art.initramfs);
const scratch = await mkdtemp(path.join(os.tmpdir(), 'bench-disk-'));
const xfsConfig = path.join(scratch, 'xfs.conf');
await writeFile(xfsConfig, xfsConfigText('lts_6.6.conf'));
const grubCfg = renderGrubCfg({ version: VERSION, cmdline: CMDLINE, resetEntry: true });
let n = 0;

const ours = async (diskMiB: number): Promise<{ ms: number; written: number; allocated: number }> => {
  const dir = path.join(scratch, `ours-${n++}`);
  const output = `${dir}.raw`;
  const { ms, value } = await timed(() =>
    buildRawDiskImage({
      version: VERSION,
      arch: 'amd64',
      secureBoot: false,
      bootloader: 'grub',
      diskSizeMiB: diskMiB,
      cmdline: CMDLINE,
      kernel,
      initramfs,
      workDir: dir,
      output,
    }),
  );
  const allocated = (await lstat(output)).blocks * 512;
  await rm(dir, { recursive: true, force: true });
  await rm(output, { force: true });
  return { ms, written: value.bytesWritten, allocated };
};
const reference = async (diskMiB: number): Promise<{ ms: number; allocated: number }> => {
  const output = path.join(scratch, `ref-${n++}.raw`);
  const ms = await runReferenceDisk({
    workDir: path.join(scratch, `ref-work-${n++}`),
    output,
    diskMiB,
    kernel,
    initramfs,
    grubCfg,
    xfsConfig,
  });
  const allocated = (await lstat(output)).blocks * 512;
  await rm(output, { force: true });
  return { ms, allocated };
};

try {
  console.log(
    `disk: ${VERSION} metal GRUB raw image; ${RUNS} runs per figure (median), after one warm-up run each`,
  );
  const samples: Record<string, number[]> = { o1: [], o8: [], r1: [], r8: [] };
  let o8: { written: number; allocated: number } | undefined;
  let o1: { written: number; allocated: number } | undefined;
  let r8: { allocated: number } | undefined;
  await ours(SMALL_MIB);
  await reference(SMALL_MIB);
  for (let i = 0; i < RUNS; i++) {
    const order = i % 2 === 0 ? ['o', 'r'] : ['r', 'o'];
    for (const side of order) {
      if (side === 'o') {
        const a = await ours(SMALL_MIB);
        const b = await ours(8192);
        samples.o1!.push(a.ms);
        samples.o8!.push(b.ms);
        o1 = a;
        o8 = b;
      } else {
        samples.r1!.push((await reference(SMALL_MIB)).ms);
        const b = await reference(8192);
        samples.r8!.push(b.ms);
        r8 = b;
      }
    }
  }
  figure('disk 8 GiB vs 1246 MiB raw build (ours)', median(samples.o8!), median(samples.o1!), 'ms', {
    goal: { max: 1.5 },
  });
  figure('disk 8 GiB vs 1246 MiB raw build (bare pipeline)', median(samples.r8!), median(samples.r1!), 'ms');
  figure('disk 1246 MiB raw build vs bare tool pipeline', median(samples.o1!), median(samples.r1!), 'ms', {
    goal: { max: 1.1 },
  });
  figure('disk 8 GiB raw build vs bare tool pipeline', median(samples.o8!), median(samples.r8!), 'ms', {
    goal: { max: 1.1 },
  });
  console.log(
    `disk bytes written into the raw: 1246 MiB ${o1!.written}, 8 GiB ${o8!.written}; allocated: ours 1246 MiB ${o1!.allocated}, 8 GiB ${o8!.allocated}, bare pipeline 8 GiB ${r8!.allocated}`,
  );
  const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(' ');
  console.log(
    `disk samples ms: ours 1246M [${fmt(samples.o1!)}] 8G [${fmt(samples.o8!)}]; ref 1246M [${fmt(samples.r1!)}] 8G [${fmt(samples.r8!)}]`,
  );
} finally {
  await rm(scratch, { recursive: true, force: true });
}
