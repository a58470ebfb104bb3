/**
 * SBC overlays: the fixture overlay image's installer (errata E15 layout) through `get-options`
 * and `install` into a real disk build (GPT entries moved by the reported offset, u-boot written
 * into the gap, files landing on the ESP), and the sandbox rules against misbehaving installers
 * (timeout, output bound, writes into partitions, no network), plus the board → overlay table.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildRawDiskImage } from '../../src/builders/disk/build-raw.js';
import {
  DEFAULT_OVERLAY_LIMITS,
  overlayGetOptions,
  overlayInstall,
  overlayOptionsYaml,
} from '../../src/builders/disk/overlay-installer.js';
import { allocateGpt, encodeGpt, partitionExtent } from '../../src/builders/formats/gpt.js';
import { labelGuid, PARTITION_TYPE } from '../../src/builders/formats/guid.js';
import { canIsolate } from '../../src/builders/tools/sandboxed.js';
import { overlayForBoard } from '../../src/profile/boards.js';
import { deriveQuirks } from '../../src/profile/quirks.js';
import { parseTalosVersion } from '../../src/profile/version.js';
import type { YamlMap } from '../../src/schematic/types.js';
import { extractImage } from '../fixtures/layout-read.js';
import type { FixtureManifest } from '../fixtures/manifest.js';
import { FIXTURE_OVERLAY } from '../fixtures/overlay.js';
import { fixtureReleases } from '../helpers/fixture-factory.js';

const exec = promisify(execFile);
const MIB = 1024 * 1024;
let fx: FixtureManifest;
let scratch: string;
let overlayRoot: string;

before(async () => {
  fx = await fixtureReleases();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'disk-overlay-'));
  overlayRoot = path.join(scratch, 'overlay');
  await extractImage(
    path.join(fx.root, 'siderolabs', FIXTURE_OVERLAY.repo),
    FIXTURE_OVERLAY.tag,
    'amd64',
    overlayRoot,
  );
});
after(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const options = (entries: [string, string | number][]): YamlMap => ({
  kind: 'map',
  entries: entries.map(
    ([k, v]) => [k, typeof v === 'number' ? { kind: 'int', value: BigInt(v) } : v] as const,
  ),
});

/** A fake overlay image root whose default installer is `script`. */
async function fakeOverlay(name: string, script: string): Promise<string> {
  const root = path.join(scratch, `fake-${name}`);
  await mkdir(path.join(root, 'installers'), { recursive: true });
  await mkdir(path.join(root, 'artifacts'), { recursive: true });
  await writeFile(path.join(root, 'installers', 'default'), script);
  await chmod(path.join(root, 'installers', 'default'), 0o755);
  return root;
}

describe('fixture overlay in a disk build', { timeout: 300_000 }, () => {
  test('get-options → kernel args and offset; install → u-boot in the gap, files on the ESP', async () => {
    const src = {
      root: overlayRoot,
      name: FIXTURE_OVERLAY.name,
      options: options([['kernelArg', 'fixture.extra=1']]),
    };
    assert.equal(overlayOptionsYaml(src.options), 'kernelArg: fixture.extra=1\n');
    const got = await overlayGetOptions(src, path.join(scratch, 'opts'));
    assert.deepEqual(got, {
      name: FIXTURE_OVERLAY.name,
      kernelArgs: [...FIXTURE_OVERLAY.kernelArgs, 'fixture.extra=1'],
      partitionOffset: FIXTURE_OVERLAY.partitionOffset,
    });

    const v = fx.versions.find((x) => x.spec.tag === 'v1.8.3')!.artifacts.amd64!;
    const out = path.join(scratch, 'overlay.raw');
    let isolated: boolean | undefined;
    const r = await buildRawDiskImage({
      version: 'v1.8.3',
      arch: 'amd64',
      secureBoot: false,
      diskSizeMiB: 1246,
      cmdline: `talos.platform=metal ${got.kernelArgs.join(' ')}`,
      kernel: path.join(fx.root, v.vmlinuz),
      initramfs: path.join(fx.root, v.initramfs),
      skipLBAs: got.partitionOffset,
      workDir: path.join(scratch, 'overlay-work'),
      output: out,
      beforeFilesystems: async ({ rawPath, table }) => {
        const files = await overlayInstall(src, {
          installDisk: rawPath,
          table,
          scratchDir: path.join(scratch, 'inst'),
        });
        isolated = files.isolated;
        return files;
      },
    });
    assert.equal(isolated, await canIsolate());
    assert.equal(r.table.primaryEntriesLBA, 2 + FIXTURE_OVERLAY.partitionOffset);
    const { stdout: verify } = await exec('sgdisk', ['-v', out]);
    assert.match(verify, /No problems found/);
    const uboot = await readFile(
      path.join(overlayRoot, 'artifacts', 'amd64', 'u-boot', FIXTURE_OVERLAY.name, 'u-boot.bin'),
    );
    const fh = await open(out, 'r');
    const at = Buffer.alloc(uboot.length);
    try {
      await fh.read(at, 0, at.length, FIXTURE_OVERLAY.ubootOffset);
    } finally {
      await fh.close();
    }
    assert.ok(at.equals(uboot), 'u-boot written at its offset');
    const efi = partitionExtent(r.table, r.table.partitions[0]!);
    const esp = path.join(scratch, 'esp.img');
    await exec('dd', [
      `if=${out}`,
      `of=${esp}`,
      'bs=1M',
      `skip=${efi.offset / MIB}`,
      `count=${efi.length / MIB}`,
      'status=none',
    ]);
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    const { stdout: txt } = await exec('mtype', ['-i', esp, `::/${FIXTURE_OVERLAY.name}.txt`], { env });
    assert.equal(txt, `installed by ${FIXTURE_OVERLAY.name} overlay (amd64)\n`);
    const { stdout: dtb } = await exec('mdir', ['-b', '-i', esp, '::/dtb'], { env });
    assert.match(dtb, new RegExp(`${FIXTURE_OVERLAY.name}\\.dtb`));
    const { stdout: boot } = await exec('mdir', ['-b', '-i', esp, '::/EFI/boot'], { env });
    assert.match(boot, /BOOTX64\.efi/);
  });
});

describe('sandbox rules', { timeout: 120_000 }, () => {
  const limits = { ...DEFAULT_OVERLAY_LIMITS, timeoutMs: 3000, maxOutputBytes: 4096 };

  test('a hanging installer is killed at the timeout', async () => {
    const root = await fakeOverlay('hang', '#!/bin/sh\nsleep 60\n');
    const started = Date.now();
    await assert.rejects(
      overlayGetOptions({ root, name: 'hang' }, path.join(scratch, 'hang'), limits),
      (e: Error & { code?: string }) =>
        e.code === 'BUILD_TIMEOUT' && /overlay hang: get-options: did not finish/.test(e.message),
    );
    assert.ok(Date.now() - started < 20_000);
  });

  test('output beyond the bound kills it', async () => {
    const root = await fakeOverlay('chatty', '#!/bin/sh\nyes name: x\n');
    await assert.rejects(
      overlayGetOptions({ root, name: 'chatty' }, path.join(scratch, 'chatty'), limits),
      /printed more than 4096 bytes/,
    );
  });

  test('a failing installer names the step and its stderr; a non-YAML answer is refused', async () => {
    const fail = await fakeOverlay('fail', '#!/bin/sh\necho broken board >&2\nexit 3\n');
    await assert.rejects(
      overlayGetOptions({ root: fail, name: 'fail' }, path.join(scratch, 'fail'), limits),
      /exited 3: broken board/,
    );
    const junk = await fakeOverlay('junk', '#!/bin/sh\necho "kernelArgs: 7"\n');
    await assert.rejects(
      overlayGetOptions({ root: junk, name: 'junk' }, path.join(scratch, 'junk'), limits),
      /kernelArgs is not a list/,
    );
  });

  test('writes into the partitions are refused', async () => {
    const root = await fakeOverlay(
      'clobber',
      '#!/bin/sh\ndisk=$(sed -n "s/^installDisk: *//p")\nprintf XXXX | dd of="$disk" bs=1 seek=3145728 conv=notrunc 2>/dev/null\n',
    );
    const disk = path.join(scratch, 'clobber.raw');
    const table = allocateGpt(
      { diskBytes: 64 * MIB, sectorSize: 512, diskGuid: labelGuid('talos-image-disk') },
      [{ label: 'EFI', type: PARTITION_TYPE.esp, guid: labelGuid('EFI'), sizeBytes: 8 * MIB }],
    );
    const fh = await open(disk, 'w');
    try {
      await fh.truncate(64 * MIB);
      for (const w of encodeGpt(table)) await fh.write(w.data, 0, w.data.length, w.offset);
    } finally {
      await fh.close();
    }
    await assert.rejects(
      overlayInstall(
        { root, name: 'clobber' },
        { installDisk: disk, table, scratchDir: path.join(scratch, 'clobber'), limits },
      ),
      /overlay clobber: install: wrote into the partitions/,
    );
  });

  test('no network: loopback of the host is unreachable from the installer', async (t) => {
    if (!(await canIsolate())) {
      t.skip('user namespaces are not available here (the factory then runs installers without isolation)');
      return;
    }
    const server = net.createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const root = await fakeOverlay(
        'net',
        `#!/bin/bash\nif (exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null; then echo "name: reached"; else echo "name: isolated"; fi\n`,
      );
      const got = await overlayGetOptions({ root, name: 'net' }, path.join(scratch, 'net'), limits);
      assert.equal(got.name, 'isolated');
    } finally {
      server.close();
    }
  });
});

describe('boards → overlays', () => {
  const q = (v: string): ReturnType<typeof deriveQuirks> => deriveQuirks(parseTalosVersion(v));
  test('1.5 board names map to overlays from Talos 1.7', () => {
    assert.deepEqual(overlayForBoard('rpi_4', q('v1.8.3')), {
      board: 'rpi_generic',
      image: 'sbc-raspberrypi',
      overlay: 'rpi_generic',
    });
    assert.equal(overlayForBoard('rockpi_4c', q('v1.10.6'))?.overlay, 'rockpi4c');
    assert.equal(overlayForBoard('nanopi_r4s', q('v1.10.6'))?.overlay, 'nanopi-r4s');
    assert.equal(overlayForBoard('bananapi_m64', q('v1.10.6'))?.image, 'sbc-allwinner');
    assert.equal(overlayForBoard('rpi_generic', q('v1.6.7')), undefined);
    assert.equal(overlayForBoard('no-such-board', q('v1.10.6')), undefined);
  });
});
