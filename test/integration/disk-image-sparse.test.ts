/**
 * Sparse all the way (issue 8 item 5): an 8 GiB metal image must not put 8 GiB of zeros
 * anywhere. Measures the bytes really allocated (st_blocks × 512) of the raw output, of the
 * whole build directory at its peak (file-system images, staged trees, GRUB images), of each
 * converted form and its work directory, and of the compression input after compressing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildRawDiskImage } from '../../src/builders/disk/build-raw.js';
import { finishDiskImage } from '../../src/builders/disk/output.js';
import type { Compression, DiskFormat } from '../../src/profile/build-request.js';
import { fixtureReleases } from '../helpers/fixture-factory.js';
import type { FixtureManifest } from '../fixtures/manifest.js';

const MIB = 1024 * 1024;
let fx: FixtureManifest;
let scratch: string;

before(async () => {
  fx = await fixtureReleases();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'disk-sparse-'));
});
after(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Bytes allocated on disk for a file or a whole tree. */
async function allocated(p: string): Promise<number> {
  const st = await lstat(p);
  if (!st.isDirectory()) return st.blocks * 512;
  let sum = st.blocks * 512;
  for (const name of await readdir(p)) sum += await allocated(path.join(p, name));
  return sum;
}

test(
  '8 GiB image: raw, build dir, qcow2, vhd, tar.gz, zst and their inputs stay small',
  { timeout: 900_000 },
  async () => {
    const v = fx.versions.find((x) => x.spec.tag === 'v1.8.3')!;
    const a = v.artifacts.amd64!;
    const inputs =
      (await stat(path.join(fx.root, a.vmlinuz))).size + (await stat(path.join(fx.root, a.initramfs))).size;
    const work = path.join(scratch, 'work');
    const raw = path.join(scratch, 'disk.raw');
    const r = await buildRawDiskImage({
      version: 'v1.8.3',
      arch: 'amd64',
      secureBoot: false,
      bootloader: 'grub',
      diskSizeMiB: 8192,
      cmdline: 'talos.platform=metal',
      kernel: path.join(fx.root, a.vmlinuz),
      initramfs: path.join(fx.root, a.initramfs),
      workDir: work,
      output: raw,
    });
    const report: Record<string, number> = {};
    assert.equal((await stat(raw)).size, 8192 * MIB);
    report.raw = await allocated(raw);
    report.rawWritten = r.bytesWritten;
    // The build dir at its peak: everything the build left there (ESP and BOOT images, trees).
    report.buildDir = await allocated(work);
    await rm(work, { recursive: true, force: true });

    const small = inputs + 16 * MIB;
    assert.ok(report.raw < small, `raw allocates ${report.raw} bytes`);
    assert.ok(report.rawWritten < small, `raw build wrote ${report.rawWritten} bytes`);
    // mkfs.xfs writes its whole log (zeros, ~64 MiB for BOOT); bounded by BOOT, not by the disk size.
    assert.ok(report.buildDir < small + 96 * MIB, `build dir allocates ${report.buildDir} bytes`);

    const forms: [string, DiskFormat, string, Compression][] = [
      ['qcow2', 'qcow2', 'cluster_size=8k', 'none'],
      ['vhd', 'vhd', 'subformat=fixed,force_size', 'none'],
      ['raw.tar.gz', 'raw', '', 'tar.gz'],
      ['raw.zst', 'raw', '', 'zst'],
    ];
    for (const [name, format, formatOptions, compression] of forms) {
      const dir = path.join(scratch, `w-${name}`);
      await mkdir(dir);
      const output = path.join(scratch, `disk.${name}`);
      await finishDiskImage({ raw, format, formatOptions, compression, output, workDir: dir });
      report[name] = await allocated(output);
      report[`${name} work`] = await allocated(dir);
      report[`${name} input`] = await allocated(raw);
      assert.ok(report[name]! < small, `${name} allocates ${report[name]} bytes`);
      assert.ok(
        report[`${name} work`]! < small,
        `${name} work dir allocates ${report[`${name} work`]} bytes`,
      );
      // (Allowing for the file system's own extent-tree blocks, allocated when data is written back.)
      assert.ok(report[`${name} input`]! < report.raw! + MIB, `${name}: the raw input stayed sparse`);
      await rm(dir, { recursive: true, force: true });
      await rm(output, { force: true });
    }
    console.log(`allocated bytes: ${JSON.stringify(report)}`);
  },
);
