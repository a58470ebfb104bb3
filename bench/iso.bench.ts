/**
 * Benchmark: ISO build wall time against the bare tools on the same tree, in the same process,
 * interleaved, medians of BENCH_RUNS (goal ≤ 1.1×):
 *
 * - GRUB ISO: `buildGrubIso` (stage the tree, grub.cfg, reproducible grub-mkrescue) vs a plain
 *   `grub-mkrescue --compress=xz -o … <tree>` on an already staged tree of the same files;
 * - systemd-boot ISO: `buildSdBootIso` (UEFI tree, ESP image with mkfs.vfat + mcopy, xorrisofs)
 *   vs the same steps as a shell pipeline (`mkfs.vfat`, `mcopy`, `xorriso -as mkisofs`).
 *
 * Inputs: the fixture release v1.10.6 amd64 kernel, initramfs, systemd stub and systemd-boot (the
 * stub stands in for a UKI of the same size class: the ISO does not look inside it).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildGrubIso } from '../src/builders/iso/grub-iso.js';
import { isoGrubConfig } from '../src/builders/iso/grub-config.js';
import { buildSdBootIso } from '../src/builders/iso/uefi-iso.js';
import { BUILD_EPOCH } from '../src/builders/reproducible.js';
import { fixtureReleases } from '../test/helpers/fixture-factory.js';
import { envNumber, figure, median, timed } from './lib/report.js';

const exec = promisify(execFile);
const RUNS = envNumber('BENCH_RUNS', 5);
const fx = await fixtureReleases();
const v = fx.versions.find((x) => x.spec.tag === 'v1.10.6')!;
const a = v.artifacts.amd64!;
const kernel = path.join(fx.root, a.vmlinuz);
const initramfs = path.join(fx.root, a.initramfs);
const stub = path.join(fx.root, a.systemdStub);
const sdBoot = path.join(fx.root, a.systemdBoot);
const cmdline = 'talos.platform=metal console=tty0 talos.halt_if_installed=1';
const dir = await mkdtemp(path.join(os.tmpdir(), 'iso-bench-'));

try {
  const ours = { grub: [] as number[], sd: [] as number[] };
  const bare = { grub: [] as number[], sd: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    const run = path.join(dir, String(i));
    await mkdir(run);

    ours.grub.push(
      (
        await timed(() =>
          buildGrubIso({
            kernel,
            initramfs,
            cmdline,
            resetEntry: true,
            epoch: BUILD_EPOCH,
            workDir: path.join(run, 'grub-ours'),
            output: path.join(run, 'ours.iso'),
          }),
        )
      ).ms,
    );
    const tree = path.join(run, 'grub-bare', 'boot', 'grub');
    await mkdir(tree, { recursive: true });
    await copyFile(kernel, path.join(run, 'grub-bare', 'boot', 'vmlinuz'));
    await copyFile(initramfs, path.join(run, 'grub-bare', 'boot', 'initramfs.xz'));
    await writeFile(path.join(tree, 'grub.cfg'), isoGrubConfig({ cmdline, resetEntry: true }));
    bare.grub.push(
      (
        await timed(() =>
          exec('grub-mkrescue', [
            '--compress=xz',
            '-o',
            path.join(run, 'bare.iso'),
            path.join(run, 'grub-bare'),
          ]),
        )
      ).ms,
    );

    const sizes = { uki: (await stat(stub)).size, sd: (await stat(sdBoot)).size };
    ours.sd.push(
      (
        await timed(() =>
          buildSdBootIso({
            parts: {
              arch: 'amd64',
              version: 'v1.10.6',
              uki: { path: stub, size: sizes.uki },
              sdBoot: { path: sdBoot, size: sizes.sd },
              enrollMode: 'off',
            },
            epoch: BUILD_EPOCH,
            workDir: path.join(run, 'sd-ours'),
            output: path.join(run, 'sd-ours.iso'),
          }),
        )
      ).ms,
    );
    const sdTree = path.join(run, 'sd-bare');
    bare.sd.push(
      (
        await timed(async () => {
          // The same tree as ours: the UEFI files live in the ISO 9660 tree and in the ESP image.
          const isoTree = path.join(sdTree, 'iso');
          await mkdir(path.join(isoTree, 'EFI', 'BOOT'), { recursive: true });
          await mkdir(path.join(isoTree, 'EFI', 'Linux'), { recursive: true });
          await mkdir(path.join(isoTree, 'loader'), { recursive: true });
          await exec('cp', [sdBoot, path.join(isoTree, 'EFI', 'BOOT', 'BOOTX64.EFI')]);
          await exec('cp', [stub, path.join(isoTree, 'EFI', 'Linux', 'Talos-v1.10.6.efi')]);
          await writeFile(path.join(isoTree, 'loader', 'loader.conf'), 'timeout 10\n');
          const esp = path.join(sdTree, 'efiboot.img');
          await exec('truncate', ['-s', '12M', esp]);
          await exec('mkfs.vfat', ['-F', '16', '-n', 'EFI', '--invariant', esp]);
          await exec('mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT', '::/EFI/Linux', '::/loader']);
          await exec('mcopy', ['-i', esp, sdBoot, '::/EFI/BOOT/BOOTX64.EFI']);
          await exec('mcopy', ['-i', esp, stub, '::/EFI/Linux/Talos-v1.10.6.efi']);
          await exec('mcopy', [
            '-i',
            esp,
            path.join(isoTree, 'loader', 'loader.conf'),
            '::/loader/loader.conf',
          ]);
          // The imager's xorrisofs command (talos-imager §4.3), as ours runs it.
          await exec('xorriso', [
            '-as',
            'mkisofs',
            '-e',
            '--interval:appended_partition_2:all::',
            '-append_partition',
            '2',
            '0xef',
            esp,
            '-partition_cyl_align',
            'all',
            '-partition_offset',
            '16',
            '-iso_mbr_part_type',
            '0x83',
            '-no-emul-boot',
            '-iso-level',
            '3',
            '-o',
            path.join(run, 'sd-bare.iso'),
            path.join(sdTree, 'iso'),
          ]);
        })
      ).ms,
    );
    await rm(run, { recursive: true, force: true });
  }
  figure('GRUB ISO build (buildGrubIso vs bare grub-mkrescue)', median(ours.grub), median(bare.grub), 'ms', {
    goal: { max: 1.1 },
  });
  figure(
    'systemd-boot ISO build (buildSdBootIso vs mkfs.vfat + mcopy + xorriso)',
    median(ours.sd),
    median(bare.sd),
    'ms',
    { goal: { max: 1.1 } },
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
