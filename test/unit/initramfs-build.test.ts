import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { FactoryError, isFactoryError } from '../../src/errors.js';
import { readCpio } from '../../src/builders/formats/cpio-reader.js';
import { writeSchematicExtensionDir } from '../../src/builders/extensions/schematic-extension.js';
import { buildInitramfs, type InitramfsExtension } from '../../src/builders/initramfs/build.js';
import type { InitramfsQuirks } from '../../src/builders/initramfs/paths.js';

const run = promisify(execFile);
const TIMEOUT = { timeout: 120_000 };
const KVER = '6.1.99-talos';
const SCHEMATIC_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';

/** Runs a shell pipeline (fixture building only). */
async function sh(script: string, cwd: string): Promise<void> {
  await run('bash', ['-euo', 'pipefail', '-c', script], { cwd, maxBuffer: 1 << 24 });
}

/** Runs a program with `input` on stdin and returns stdout. */
function pipe(cmd: string, args: string[], input: Buffer, cwd?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out))
        : reject(new Error(`${cmd} ${code}: ${Buffer.concat(err).toString()}`)),
    );
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** Two fake kernel modules: fakeb.ko uses a symbol fakea.ko exports, so depmod must link them. */
async function buildFakeModules(dir: string): Promise<{ a: string; b: string } | undefined> {
  const gcc = await run('gcc', ['--version']).then(
    () => true,
    () => false,
  );
  if (!gcc) return undefined;
  const info = (text: string): string =>
    `static const char modinfo[] __attribute__((section(".modinfo"), used, aligned(1))) = "${text}";\n`;
  await writeFile(
    join(dir, 'fakea.c'),
    info('license=GPL') +
      'int fakea_func(int x) { return x + 1; }\n' +
      'static const char ks[] __attribute__((section("__ksymtab_strings"), used, aligned(1))) = "fakea_func";\n',
  );
  await writeFile(
    join(dir, 'fakeb.c'),
    info('license=GPL') + 'extern int fakea_func(int);\nint fakeb_init(void) { return fakea_func(2); }\n',
  );
  await run('gcc', ['-c', '-O2', '-o', join(dir, 'fakea.ko'), join(dir, 'fakea.c')]);
  await run('gcc', ['-c', '-O2', '-o', join(dir, 'fakeb.ko'), join(dir, 'fakeb.c')]);
  return { a: join(dir, 'fakea.ko'), b: join(dir, 'fakeb.ko') };
}

interface BaseOptions {
  compression: 'xz' | 'zstd';
  modRel: string;
  kvers?: string[];
  moduleA?: string;
  withRootfs?: boolean;
}

/** A stock-like initramfs: newc cpio (`./init`, `./rootfs.sqsh`) compressed like Talos does it. */
async function makeBase(dir: string, o: BaseOptions): Promise<string> {
  const root = join(dir, 'base-root');
  const rootfs = join(dir, 'base-rootfs');
  for (const kver of o.kvers ?? [KVER]) {
    await mkdir(join(rootfs, o.modRel, kver, 'kernel/drivers'), { recursive: true });
    if (o.moduleA !== undefined)
      await sh(`cp ${o.moduleA} ${join(rootfs, o.modRel, kver, 'kernel/drivers/fakea.ko')}`, dir);
    await writeFile(join(rootfs, o.modRel, kver, 'modules.order'), 'kernel/drivers/fakea.ko\n');
  }
  await mkdir(join(rootfs, 'usr/bin'), { recursive: true });
  await writeFile(join(rootfs, 'usr/bin/machined'), 'machined');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'init'), '#!/bin/sh\n');
  if (o.withRootfs !== false)
    await sh(
      `mksquashfs ${rootfs} ${join(root, 'rootfs.sqsh')} -all-root -noappend -no-progress -comp xz >/dev/null`,
      dir,
    );
  const out = join(dir, `initramfs.${o.compression}`);
  const compress = o.compression === 'xz' ? 'xz -C crc32 -9 -c' : 'zstd -19 -c -q';
  await sh(
    `cd ${root} && find . | LC_ALL=C sort | cpio -H newc -o --reproducible --quiet | ${compress} > ${out}`,
    dir,
  );
  return out;
}

type Tree = Record<string, string | { link: string }>;

/** An unpacked extension directory with a manifest and the given rootfs files. */
async function makeExtension(
  dir: string,
  name: string,
  files: Tree,
  constraint = '>= v1.0.0',
): Promise<string> {
  const root = join(dir, `ext-${name}`);
  await mkdir(join(root, 'rootfs'), { recursive: true });
  await writeFile(
    join(root, 'manifest.yaml'),
    `version: v1alpha1\nmetadata:\n  name: ${name}\n  version: 1.2.3\n  author: Tester\n  description: |\n    The ${name} extension.\n` +
      `  compatibility:\n    talos:\n      version: '${constraint}'\n`,
  );
  for (const [path, content] of Object.entries(files)) {
    const abs = join(root, 'rootfs', path);
    await mkdir(dirname(abs), { recursive: true });
    if (typeof content === 'string') await writeFile(abs, content);
    else await symlink(content.link, abs);
  }
  return root;
}

interface Inspected {
  prefix: string[];
  prefixDir: string;
  appendix: string[];
  appendixDir: string;
  base: Buffer;
}

/** Splits the output by the reported layout and reads every part back with GNU cpio/xz/zstd. */
async function inspect(
  dir: string,
  out: string,
  layout: { prefixSize: number; baseOffset: number; baseSize: number; appendixOffset: number },
  compression: 'xz' | 'zstd',
): Promise<Inspected> {
  const bytes = await readFile(out);
  const prefixBytes = bytes.subarray(0, layout.prefixSize);
  const prefixDir = join(dir, 'inspect-prefix');
  const appendixDir = join(dir, 'inspect-appendix');
  await mkdir(prefixDir, { recursive: true });
  await mkdir(appendixDir, { recursive: true });
  const prefix =
    prefixBytes.length === 0
      ? []
      : (await pipe('cpio', ['-t', '--quiet'], prefixBytes)).toString().trim().split('\n');
  if (prefixBytes.length > 0) await pipe('cpio', ['-i', '-d', '--quiet'], prefixBytes, prefixDir);
  const cpio = await pipe(compression, ['-dc'], bytes.subarray(layout.appendixOffset));
  const appendix = (await pipe('cpio', ['-t', '--quiet'], cpio)).toString().trim().split('\n');
  await pipe('cpio', ['-i', '-d', '--quiet'], cpio, appendixDir);
  return {
    prefix,
    prefixDir,
    appendix,
    appendixDir,
    base: bytes.subarray(layout.baseOffset, layout.baseOffset + layout.baseSize),
  };
}

describe('initramfs with extensions', () => {
  let dir: string;
  let modules: { a: string; b: string } | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'initramfs-build-'));
    modules = await buildFakeModules(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test(
    'Talos ≥ 1.10 layout (zstd, /usr/lib): microcode prepended, firmware staged, modules.dep last',
    TIMEOUT,
    async (t) => {
      if (modules === undefined) return t.skip('gcc is not installed (needed to build fake kernel modules)');
      const q: InitramfsQuirks = { zstd: true, usrLib: true };
      const work = join(dir, 'new');
      await mkdir(work);
      const base = await makeBase(work, {
        compression: 'zstd',
        modRel: 'usr/lib/modules',
        moduleA: modules.a,
      });
      const ucode = await makeExtension(work, 'ucode-and-firmware', {
        'usr/lib/firmware/intel-ucode/06-8f-08': 'INTEL2',
        'usr/lib/firmware/intel-ucode/06-55-04': 'INTEL1',
        'usr/lib/firmware/amd-ucode/microcode_amd_fam17h.bin': 'AMD17',
        'usr/lib/firmware/amd-ucode/README': 'not microcode',
        'usr/lib/firmware/vendor/fw.bin': 'FIRMWARE',
        'usr/lib/firmware/vendor/alias.bin': { link: 'fw.bin' },
        'usr/local/bin/tool': 'tool',
      });
      const kmod = await makeExtension(work, 'kmod', {
        [`usr/lib/modules/${KVER}/extras/fakeb.ko`]: await readFile(modules.b, 'latin1'),
      });
      await sh(`cp ${modules.b} ${join(kmod, 'rootfs/usr/lib/modules', KVER, 'extras/fakeb.ko')}`, work);
      const schematic = join(work, 'ext-schematic');
      await writeSchematicExtensionDir(
        { id: SCHEMATIC_ID, externalURL: 'https://factory.example/', schematicYaml: 'customization: {}\n' },
        schematic,
      );
      const extensions: InitramfsExtension[] = [
        { name: 'siderolabs/intel-ucode', dir: ucode },
        { name: 'siderolabs/kmod', dir: kmod },
        { name: 'schematic', dir: schematic },
      ];
      const result = await buildInitramfs({
        baseInitramfs: base,
        extensions,
        quirks: q,
        workDir: join(work, 'build'),
      });
      const { layout } = result;

      // Prepended, uncompressed, 512-aligned microcode archive; the kernel reads it at offset 0.
      assert.equal(layout.prefixSize % 512, 0);
      assert.equal(layout.baseOffset, layout.prefixSize);
      const got = await inspect(work, result.path, layout, 'zstd');
      assert.deepEqual(got.prefix, [
        'kernel',
        'kernel/x86',
        'kernel/x86/microcode',
        'kernel/x86/microcode/AuthenticAMD.bin',
        'kernel/x86/microcode/GenuineIntel.bin',
      ]);
      assert.equal(
        await readFile(join(got.prefixDir, 'kernel/x86/microcode/GenuineIntel.bin'), 'utf8'),
        'INTEL1INTEL2',
      );
      assert.equal(
        await readFile(join(got.prefixDir, 'kernel/x86/microcode/AuthenticAMD.bin'), 'utf8'),
        'AMD17',
      );
      assert.deepEqual(got.base, await readFile(base), 'the original initramfs is kept byte for byte');
      // Decoded the way the kernel walks it: base and appendix are two frames of one zstd stream.
      const all = await readFile(result.path);
      const joined = await pipe('zstd', ['-dc'], all.subarray(layout.prefixSize));
      const names: string[] = [];
      for await (const entry of readCpio([joined])) names.push(entry.name.replace(/^\.\//, ''));
      assert.deepEqual(names.slice(0, 3), ['.', 'init', 'rootfs.sqsh']);
      assert.deepEqual(names.slice(3, 6), ['0.sqsh', '1.sqsh', '2.sqsh']);

      // Appended compressed archive, in Talos' walk order.
      assert.deepEqual(got.appendix, [
        '0.sqsh',
        '1.sqsh',
        '2.sqsh',
        'extensions.yaml',
        'modules.dep.sqsh',
        'usr',
        'usr/lib',
        'usr/lib/firmware',
        'usr/lib/firmware/amd-ucode',
        'usr/lib/firmware/amd-ucode/README',
        'usr/lib/firmware/intel-ucode',
        'usr/lib/firmware/vendor',
        'usr/lib/firmware/vendor/alias.bin',
        'usr/lib/firmware/vendor/fw.bin',
      ]);
      const alias = await lstat(join(got.appendixDir, 'usr/lib/firmware/vendor/alias.bin'));
      assert.ok(alias.isFile(), 'firmware symlinks are materialised');
      assert.equal(
        await readFile(join(got.appendixDir, 'usr/lib/firmware/vendor/alias.bin'), 'utf8'),
        'FIRMWARE',
      );

      // Squashfs layers: firmware left out of the extension's image; modules.dep built by depmod.
      const list = async (name: string): Promise<string> =>
        (await run('unsquashfs', ['-l', '-n', join(got.appendixDir, name)])).stdout;
      const first = await list('0.sqsh');
      assert.match(first, /squashfs-root\/usr\/local\/bin\/tool/);
      assert.doesNotMatch(first, /firmware/);
      assert.match(await list('2.sqsh'), new RegExp(`usr/local/share/schematic/${SCHEMATIC_ID}`));
      const mdDir = join(work, 'modules-dep-out');
      await run('unsquashfs', ['-d', mdDir, '-n', join(got.appendixDir, 'modules.dep.sqsh')]);
      const dep = (await readFile(join(mdDir, 'usr/lib/modules', KVER, 'modules.dep'), 'utf8'))
        .trim()
        .split('\n');
      assert.deepEqual(dep.sort(), ['extras/fakeb.ko: kernel/drivers/fakea.ko', 'kernel/drivers/fakea.ko:']);
      assert.ok((await readdir(join(mdDir, 'usr/lib/modules', KVER))).includes('modules.order'));
      assert.ok(
        !(await readdir(join(mdDir, 'usr/lib/modules', KVER))).some(
          (n) => n.endsWith('.ko') || n === 'extras',
        ),
      );

      // extensions.yaml: one layer per extension in order, modules.dep last.
      const yaml = await readFile(join(got.appendixDir, 'extensions.yaml'), 'utf8');
      assert.equal(yaml, result.extensionsYaml);
      assert.deepEqual(
        [...yaml.matchAll(/- image: (.*)\n {6}metadata:\n {8}name: (.*)\n/g)].map((m) => `${m[1]}=${m[2]}`),
        ['0.sqsh=ucode-and-firmware', '1.sqsh=kmod', '2.sqsh=schematic', 'modules.dep.sqsh=modules.dep'],
      );
      assert.match(yaml, /name: modules\.dep\n {8}version: 6\.1\.99-talos\n {8}author: Talos Machinery\n/);
      assert.match(yaml, /description: \|\n {12}The kmod extension\.\n/);
      assert.match(yaml, /extraInfo: \|\n {12}customization: \{\}\n/);

      // Inputs are read, never modified.
      assert.equal(
        await readFile(join(ucode, 'rootfs/usr/lib/firmware/intel-ucode/06-55-04'), 'utf8'),
        'INTEL1',
      );
    },
  );

  test('Talos < 1.8 layout (xz with CRC32, /lib): no microcode means no prefix', TIMEOUT, async () => {
    const q: InitramfsQuirks = { zstd: false, usrLib: false };
    const work = join(dir, 'old');
    await mkdir(work);
    const base = await makeBase(work, { compression: 'xz', modRel: 'lib/modules' });
    const fw = await makeExtension(work, 'fw', { 'lib/firmware/a/b.bin': 'B', 'usr/local/x': 'x' });
    const result = await buildInitramfs({
      baseInitramfs: base,
      extensions: [{ name: 'siderolabs/fw', dir: fw }],
      quirks: q,
      workDir: join(work, 'build'),
    });
    assert.equal(result.layout.prefixSize, 0);
    const got = await inspect(work, result.path, result.layout, 'xz');
    assert.deepEqual(got.appendix, [
      '0.sqsh',
      'extensions.yaml',
      'lib',
      'lib/firmware',
      'lib/firmware/a',
      'lib/firmware/a/b.bin',
    ]);
    const appendix = join(work, 'appendix.xz');
    await writeFile(appendix, (await readFile(result.path)).subarray(result.layout.appendixOffset));
    assert.match((await run('xz', ['--robot', '--list', appendix])).stdout, /^totals\t.*\tCRC32\t/m);
    const sq = (await run('unsquashfs', ['-s', join(got.appendixDir, '0.sqsh')])).stdout;
    assert.match(sq, /Compression xz/);
    assert.equal(result.extensionsYaml.includes('modules.dep'), false);
  });

  test(
    'staging dirs sort as strings: with 11 inputs the last one is not the last layer',
    TIMEOUT,
    async () => {
      const work = join(dir, 'eleven');
      await mkdir(work);
      const base = await makeBase(work, { compression: 'xz', modRel: 'lib/modules', withRootfs: false });
      const extensions: InitramfsExtension[] = [];
      for (let i = 0; i < 11; i++)
        extensions.push({
          name: `e${i}`,
          dir: await makeExtension(work, `e${i}`, { [`usr/local/e${i}`]: '' }),
        });
      const result = await buildInitramfs({
        baseInitramfs: base,
        extensions,
        quirks: { zstd: false, usrLib: false },
        workDir: join(work, 'build'),
      });
      const images = [
        ...result.extensionsYaml.matchAll(/- image: (.*)\n {6}metadata:\n {8}name: (.*)\n/g),
      ].map((m) => `${m[1]}=${m[2]}`);
      assert.deepEqual(images, [
        '0.sqsh=e0',
        '1.sqsh=e1',
        '10.sqsh=e10',
        '2.sqsh=e2',
        '3.sqsh=e3',
        '4.sqsh=e4',
        '5.sqsh=e5',
        '6.sqsh=e6',
        '7.sqsh=e7',
        '8.sqsh=e8',
        '9.sqsh=e9',
      ]);
    },
  );

  test('with sourceDateEpoch two builds are byte-identical', TIMEOUT, async () => {
    const work = join(dir, 'repro');
    await mkdir(work);
    const base = await makeBase(work, { compression: 'zstd', modRel: 'usr/lib/modules', withRootfs: false });
    const fw = await makeExtension(work, 'fw', {
      'usr/lib/firmware/intel-ucode/06-55-04': 'INTEL',
      'usr/lib/firmware/a/b.bin': 'B',
      'usr/local/bin/x': 'x',
    });
    const schematic = join(work, 'ext-schematic');
    await writeSchematicExtensionDir({ id: SCHEMATIC_ID }, schematic);
    const build = async (name: string): Promise<Buffer> => {
      const result = await buildInitramfs({
        baseInitramfs: base,
        extensions: [
          { name: 'fw', dir: fw },
          { name: 'schematic', dir: schematic },
        ],
        quirks: { zstd: true, usrLib: true },
        workDir: join(work, name),
        sourceDateEpoch: 1_700_000_000,
      });
      return readFile(result.path);
    };
    const first = await build('one');
    const second = await build('two');
    assert.ok(first.equals(second), 'outputs differ');
    // Entry mtimes come from SOURCE_DATE_EPOCH (0x6553F100), not from the files.
    assert.equal(first.subarray(46, 54).toString('latin1'), '6553F100');
  });

  test('no extensions: the base initramfs is used as is', TIMEOUT, async () => {
    const work = join(dir, 'none');
    await mkdir(work);
    const base = await makeBase(work, { compression: 'zstd', modRel: 'usr/lib/modules', withRootfs: false });
    const result = await buildInitramfs({
      baseInitramfs: base,
      extensions: [],
      quirks: { zstd: true, usrLib: true },
      workDir: join(work, 'b'),
    });
    assert.deepEqual(await readFile(result.path), await readFile(base));
  });

  test('failures name the step', TIMEOUT, async () => {
    const work = join(dir, 'fail');
    await mkdir(work);
    const q: InitramfsQuirks = { zstd: true, usrLib: true };
    const kmod = await makeExtension(work, 'kmod', { [`usr/lib/modules/${KVER}/extras/x.ko`]: '' });
    const expect = async (base: string, ext: string, pattern: RegExp, workDir: string): Promise<void> => {
      await assert.rejects(
        buildInitramfs({
          baseInitramfs: base,
          extensions: [{ name: 'siderolabs/kmod', dir: ext }],
          quirks: q,
          workDir,
        }),
        (e: unknown) => {
          assert.ok(isFactoryError(e, 'BUILD_FAILED'), String(e));
          assert.match(e.message, pattern);
          return true;
        },
      );
    };
    const corrupt = join(work, 'corrupt.xz');
    await writeFile(
      corrupt,
      Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(200, 0x55)]),
    );
    await expect(
      corrupt,
      kmod,
      /^initramfs: modules\.dep: extract rootfs\.sqsh: xz exited 1: .+/,
      join(work, 'w1'),
    );

    const noRootfs = await makeBase(join(work, 'b2'), {
      compression: 'zstd',
      modRel: 'usr/lib/modules',
      withRootfs: false,
    });
    await expect(
      noRootfs,
      kmod,
      /^initramfs: modules\.dep: extract rootfs\.sqsh: rootfs\.sqsh not found in the base initramfs$/,
      join(work, 'w2'),
    );

    const twoKernels = await makeBase(join(work, 'b3'), {
      compression: 'zstd',
      modRel: 'usr/lib/modules',
      kvers: ['6.1.1', '6.1.2'],
    });
    await expect(
      twoKernels,
      kmod,
      /^initramfs: modules\.dep: expected exactly one kernel version directory under \/usr\/lib\/modules in rootfs\.sqsh, found 2 \(6\.1\.1, 6\.1\.2\)$/,
      join(work, 'w3'),
    );

    const escaping = await makeExtension(work, 'escaping', {
      'usr/lib/firmware/x.bin': { link: '/etc/hostname' },
    });
    await expect(
      noRootfs,
      escaping,
      /^initramfs: extension siderolabs\/kmod: firmware: .*x\.bin is (a symlink that leads outside the extension|a dangling symlink)/,
      join(work, 'w4'),
    );
  });

  test('an aborted build rejects with the abort reason', TIMEOUT, async () => {
    const work = join(dir, 'abort');
    await mkdir(work);
    const base = await makeBase(work, { compression: 'xz', modRel: 'lib/modules', withRootfs: false });
    const ext = await makeExtension(work, 'x', { 'usr/local/x': 'x' });
    const controller = new AbortController();
    controller.abort(new FactoryError('BUILD_TIMEOUT', 'build took too long'));
    await assert.rejects(
      buildInitramfs({
        baseInitramfs: base,
        extensions: [{ name: 'x', dir: ext }],
        quirks: { zstd: false, usrLib: false },
        workDir: join(work, 'b'),
        signal: controller.signal,
      }),
      (e: unknown) => isFactoryError(e, 'BUILD_TIMEOUT'),
    );
  });
});
