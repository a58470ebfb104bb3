/**
 * Smoke test of the fixture releases and the boot harness: builds (or reuses) the fixture set,
 * checks the OCI layouts and the publish path, boots every version's own kernel + base initramfs,
 * and boots a hand-assembled extension appendix (talos-imager.md §2) to prove the fixture init
 * reports layers, files, microcode, firmware, modules and the schematic marker correctly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createReadStream, existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildFixtureReleases } from '../fixtures/build.js';
import { run, sh } from '../fixtures/exec.js';
import { sha256File, sha256Hex } from '../fixtures/hash.js';
import { extractImage, platformManifest } from '../fixtures/layout-read.js';
import type { FixtureManifest, FixtureVersion } from '../fixtures/manifest.js';
import type { DebArch } from '../helpers/debian.js';
import { publishFixtures } from '../fixtures/publish.js';
import { bootKernel, bootPxe, PXE_GUEST_HOST } from '../helpers/qemu.js';
import { parseReport, type BootReport } from '../helpers/report.js';
import { createLimiter } from '../fixtures/limit.js';
import { freePort } from '../helpers/free-port.js';

const BOOT_TIMEOUT_MS = 90_000;
const CMDLINE_BASE = 'console=ttyS0 panic=-1 talos.platform=metal';

let fx: FixtureManifest;
let scratch: string;

const version = (tag: string): FixtureVersion => {
  const v = fx.versions.find((x) => x.spec.tag === tag);
  assert.ok(v, `fixture version ${tag} exists`);
  return v;
};
const abs = (rel: string): string => path.join(fx.root, rel);

before(async () => {
  fx = await buildFixtureReleases({ log: (l) => console.error(`[fixtures] ${l}`) });
  scratch = await mkdtemp(path.join(os.tmpdir(), 'fixture-smoke-'));
});

after(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('fixture layouts', () => {
  test(
    'every repo is an OCI layout whose tags and blobs match the manifest',
    { timeout: 120_000 },
    async () => {
      const names = fx.repos.map((r) => r.name);
      for (const want of [
        'siderolabs/imager',
        'siderolabs/installer',
        'siderolabs/installer-base',
        'siderolabs/extensions',
        'siderolabs/overlays',
        'siderolabs/sbc-fixture',
      ]) {
        assert.ok(names.includes(want), `repo ${want} present`);
      }
      for (const e of fx.extensions)
        assert.ok(names.includes(`siderolabs/${e.name}`), `extension repo ${e.name}`);
      for (const repo of fx.repos) {
        const dir = abs(repo.dir);
        assert.equal(await readFile(path.join(dir, 'oci-layout'), 'utf8'), '{"imageLayoutVersion":"1.0.0"}');
        const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as {
          manifests: { digest: string; annotations: Record<string, string> }[];
        };
        assert.deepEqual(
          index.manifests.map((m) => [m.annotations['org.opencontainers.image.ref.name'], m.digest]).sort(),
          repo.tags.map((t) => [t.tag, t.digest]).sort(),
          `${repo.name} index.json`,
        );
        for (const blob of await readdir(path.join(dir, 'blobs', 'sha256'))) {
          assert.equal(
            await sha256File(path.join(dir, 'blobs', 'sha256', blob)),
            blob,
            `${repo.name} blob ${blob} content matches its name`,
          );
        }
      }
    },
  );

  test('skopeo reads every OCI-typed tag with the recorded digest', { timeout: 120_000 }, async () => {
    const limit = createLimiter(4);
    const checks = fx.repos.flatMap((repo) =>
      repo.tags
        .filter((t) => t.mediaType === 'application/vnd.oci.image.index.v1+json')
        .map((t) =>
          limit(async () => {
            const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${abs(repo.dir)}:${t.tag}`], {
              timeoutMs: 30_000,
            });
            assert.equal(`sha256:${sha256Hex(stdout)}`, t.digest, `${repo.name}:${t.tag}`);
          }),
        ),
    );
    assert.ok(checks.length > 40);
    await Promise.all(checks);
  });

  test('version quirks: installer layering, media types, catalogs', async () => {
    for (const v of fx.versions) {
      const repo = fx.repos.find((r) => r.name === v.installerRepo)!;
      const tag = repo.tags.find((t) => t.tag === v.spec.tag)!;
      assert.equal(tag.digest, v.installerDigest);
      for (const arch of fx.arches) {
        const { layers } = await platformManifest(abs(repo.dir), v.spec.tag, arch);
        assert.equal(layers.length, v.installerLayers, `${v.installerRepo}:${v.spec.tag} ${arch} layers`);
      }
      assert.equal(
        v.installerRepo,
        v.spec.installerBase ? 'siderolabs/installer-base' : 'siderolabs/installer',
      );
      assert.equal(tag.mediaType.includes('docker'), v.spec.dockerMediaTypes);
      assert.equal(v.overlaysYaml !== undefined, v.spec.overlays);
      assert.equal(v.descriptionsYaml !== undefined, v.spec.descriptions);
      // image-digests pins upstream refs whose digests exist in the extension layouts.
      const lines = v.imageDigests.trim().split('\n');
      assert.equal(lines.length, fx.extensions.length);
      for (const line of lines) {
        const m = /^ghcr\.io\/siderolabs\/([^:]+):([^@]+)@(sha256:[0-9a-f]{64})$/.exec(line);
        assert.ok(m, `image-digests line ${line}`);
        const extRepo = fx.repos.find((r) => r.name === `siderolabs/${m[1]}`)!;
        assert.equal(extRepo.tags.find((t) => t.tag === m[2])?.digest, m[3]);
      }
      const catalog = path.join(scratch, `catalog-${v.spec.tag}`);
      await extractImage(abs('siderolabs/extensions'), v.spec.tag, 'amd64', catalog);
      assert.equal(await readFile(path.join(catalog, 'image-digests'), 'utf8'), v.imageDigests);
      assert.equal(existsSync(path.join(catalog, 'descriptions.yaml')), v.spec.descriptions);
      const future = v.extensions.find((e) => e.name === 'future-tools')!;
      assert.equal(future.compatible, v.spec.minor >= 8);
    }
  });

  test(
    'extension images hold manifest.yaml and exactly the recorded rootfs files, per arch',
    { timeout: 60_000 },
    async () => {
      const v = version('v1.10.6');
      for (const [arch, e] of fx.arches.flatMap((a) => v.extensions.map((x) => [a, x] as const))) {
        const dir = path.join(scratch, `ext-${e.name}-${arch}`);
        await extractImage(abs(`siderolabs/${e.name}`), e.tag, arch, dir);
        assert.deepEqual((await readdir(dir)).sort(), ['manifest.yaml', 'rootfs']);
        const { stdout } = await sh('cd "$D/rootfs" && find . ! -type d | sed "s|^./||" | LC_ALL=C sort', {
          env: { ...process.env, D: dir },
        });
        assert.deepEqual(
          stdout.toString().trim().split('\n'),
          e.files[arch]!.map((f) => f.path).sort(),
          `${e.name} ${arch}`,
        );
        for (const f of e.files[arch]!) {
          if (f.type === 'file')
            assert.equal(await sha256File(path.join(dir, 'rootfs', f.path)), f.sha256, `${e.name}/${f.path}`);
        }
      }
    },
  );
});

describe('publishFixtures', () => {
  let registry: ChildProcess | undefined;
  after(() => {
    registry?.kill('SIGKILL');
  });

  test('pushes every tag to docker-registry with digests preserved', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const dir = path.join(scratch, 'registry');
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'config.yml'),
      `version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${dir}/data}\nhttp:\n  addr: 127.0.0.1:${port}\n`,
    );
    registry = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/v2/`)).ok, 15_000);
    const pushed = await publishFixtures(fx.root, `127.0.0.1:${port}`);
    assert.equal(
      pushed.length,
      fx.repos.reduce((n, r) => n + r.tags.length, 0),
    );
    for (const repo of fx.repos) {
      for (const t of repo.tags) {
        const res = await fetch(`http://127.0.0.1:${port}/v2/${repo.name}/manifests/${t.tag}`, {
          method: 'HEAD',
          headers: { accept: `${t.mediaType}, application/vnd.oci.image.index.v1+json` },
        });
        assert.equal(res.status, 200, `${repo.name}:${t.tag}`);
        assert.equal(res.headers.get('docker-content-digest'), t.digest, `${repo.name}:${t.tag} digest`);
      }
    }
    // An independent client agrees, through the docker:// transport, for a Docker-typed tag too.
    const v15 = version('v1.5.5');
    const { stdout } = await run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://127.0.0.1:${port}/siderolabs/installer:v1.5.5`,
    ]);
    assert.equal(`sha256:${sha256Hex(stdout)}`, v15.installerDigest);
  });
});

describe('boots (TCG)', () => {
  test(
    'each version boots its own kernel + base initramfs (BIOS): cmdline echoed, no layers, clean power-off',
    { timeout: 600_000 },
    async (t) => {
      const limit = createLimiter(2);
      await Promise.all(
        fx.versions.map((v) =>
          limit(() =>
            t.test(v.spec.tag, async () => {
              const a = v.artifacts.amd64!;
              const append = `${CMDLINE_BASE} fixture.version=${v.spec.tag}`;
              const res = await bootKernel({
                kernel: abs(a.vmlinuz),
                initrd: abs(a.initramfs),
                append,
                firmware: 'bios',
                timeoutMs: BOOT_TIMEOUT_MS,
                name: `smoke-${v.spec.tag}`,
              });
              const r = parseReport(res.serial);
              assert.equal(res.poweredOff, true, `clean power-off (log ${res.logFile})`);
              assert.equal(r.poweroff, true);
              assert.equal(r.cmdline, append);
              assert.equal(r.kver, fx.kernels.amd64!.kver);
              assert.equal(r.rootfs, 'ok');
              assert.equal(r.modulesRoot, v.spec.modulesRoot);
              assert.deepEqual(r.baseKvers, [fx.kernels.amd64!.kver]);
              assert.equal(r.extensionsYaml, false);
              assert.deepEqual(r.layers, []);
              assert.deepEqual(r.microcode, []);
              assert.deepEqual(
                r.firmware.map((f) => f.path.slice(1)),
                v.baseFirmware,
              );
              assert.deepEqual(
                r.sqsh.map((s) => s.name),
                ['rootfs.sqsh'],
              );
              assert.deepEqual(r.loadedModules, ['loop', 'squashfs']);
              assert.deepEqual(r.errors, []);
            }),
          ),
        ),
      );
    },
  );

  test('UEFI (OVMF) direct kernel boot of v1.10.6', { timeout: 180_000 }, async () => {
    const a = version('v1.10.6').artifacts.amd64!;
    const append = `${CMDLINE_BASE} fixture.firmware=uefi`;
    const res = await bootKernel({
      kernel: abs(a.vmlinuz),
      initrd: abs(a.initramfs),
      append,
      firmware: 'uefi',
      timeoutMs: 150_000,
      name: 'smoke-uefi',
    });
    const r = parseReport(res.serial);
    assert.equal(res.poweredOff, true, `clean power-off (log ${res.logFile})`);
    // QEMU's EFI direct-kernel loader appends `initrd=<name>` for the EFI stub.
    assert.match(r.cmdline, new RegExp(`^${append.replace(/[.]/g, '\\.')}( initrd=\\S+)?$`));
    assert.equal(r.rootfs, 'ok');
    assert.deepEqual(r.errors, []);
  });

  for (const { tag, exts } of [
    { tag: 'v1.10.6', exts: ['hello-world-service', 'amd-ucode', 'vfat-module'] },
    { tag: 'v1.5.5', exts: ['realtek-firmware', 'intel-ucode'] },
  ]) {
    test(
      `hand-assembled extension appendix (${tag}: ${exts.join(', ')} + schematic marker) is reported by the init`,
      { timeout: 300_000 },
      async () => {
        const v = version(tag);
        const schematicId = sha256Hex(`schematic for ${tag}`);
        const initramfs = await assembleAppendix(
          v,
          'amd64',
          exts,
          schematicId,
          path.join(scratch, `appendix-${tag}`),
        );
        const append = `${CMDLINE_BASE} fixture.test=appendix`;
        const res = await bootKernel({
          kernel: abs(v.artifacts.amd64!.vmlinuz),
          initrd: initramfs,
          append,
          firmware: 'bios',
          timeoutMs: BOOT_TIMEOUT_MS,
          name: `appendix-${tag}`,
        });
        const r = parseReport(res.serial);
        assert.equal(res.poweredOff, true, `clean power-off (log ${res.logFile})`);
        assert.deepEqual(r.errors, []);
        checkAppendixReport(r, v, 'amd64', exts, schematicId);
      },
    );
  }

  test(
    'iPXE (BIOS) network boot through the loopback guestfwd reaches the init',
    { timeout: 180_000 },
    async () => {
      const a = version('v1.8.3').artifacts.amd64!;
      const append = 'console=ttyS0 panic=-1 talos.platform=metal fixture.test=pxe';
      const files: Record<string, string> = { '/vmlinuz': abs(a.vmlinuz), '/initramfs.xz': abs(a.initramfs) };
      const script = `#!ipxe\nkernel http://${PXE_GUEST_HOST}/vmlinuz ${append}\ninitrd http://${PXE_GUEST_HOST}/initramfs.xz\nboot\n`;
      const requests: string[] = [];
      const server = http.createServer((req, res) => {
        requests.push(req.url ?? '');
        if (req.url === '/boot.ipxe') {
          res.end(script);
          return;
        }
        const file = files[req.url ?? ''];
        if (!file) {
          res.statusCode = 404;
          res.end();
          return;
        }
        createReadStream(file).pipe(res);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const port = (server.address() as net.AddressInfo).port;
        const res = await bootPxe({
          bootUrl: '/boot.ipxe',
          factoryPort: port,
          firmware: 'bios',
          timeoutMs: 150_000,
          name: 'smoke-pxe',
        });
        const r = parseReport(res.serial);
        assert.equal(res.poweredOff, true, `clean power-off (log ${res.logFile})`);
        assert.equal(r.cmdline, append);
        assert.deepEqual(requests, ['/boot.ipxe', '/vmlinuz', '/initramfs.xz']);
      } finally {
        server.close();
      }
    },
  );

  const aarch64 = existsSync('/usr/bin/qemu-system-aarch64');
  test(
    'arm64: v1.10.6 kernel + hand-assembled appendix (hello-world-service, vfat-module) boots on qemu virt',
    {
      timeout: 300_000,
      skip: aarch64 ? false : 'qemu-system-aarch64 not installed (Debian qemu-system-arm)',
    },
    async () => {
      if (!fx.arches.includes('arm64')) return;
      const v = version('v1.10.6');
      const exts = ['hello-world-service', 'vfat-module'];
      const schematicId = sha256Hex('arm64 schematic');
      const initramfs = await assembleAppendix(
        v,
        'arm64',
        exts,
        schematicId,
        path.join(scratch, 'appendix-arm64'),
      );
      const append = 'console=ttyAMA0 panic=-1 talos.platform=metal';
      const res = await bootKernel({
        arch: 'arm64',
        kernel: abs(v.artifacts.arm64!.vmlinuz),
        initrd: initramfs,
        append,
        timeoutMs: 240_000,
        name: 'appendix-arm64',
      });
      const r = parseReport(res.serial);
      assert.equal(res.poweredOff, true, `clean power-off (log ${res.logFile})`);
      assert.equal(r.arch, 'aarch64');
      assert.equal(r.kver, fx.kernels.arm64!.kver);
      assert.equal(r.cmdline, append);
      assert.deepEqual(r.errors, []);
      checkAppendixReport(r, v, 'arm64', exts, schematicId);
    },
  );
});

/**
 * Builds `[ucode cpio] + base initramfs + compress(cpio(sqsh…, extensions.yaml, firmware))` by hand
 * with the CLI tools, following talos-imager.md §2.1–2.5 (firmware symlinks materialised, errata E4).
 */
async function assembleAppendix(
  v: FixtureVersion,
  arch: DebArch,
  exts: string[],
  schematicId: string,
  work: string,
): Promise<string> {
  const spec = v.spec;
  const kver = fx.kernels[arch]!.kver;
  const fw = spec.firmwareRoot;
  const stage = path.join(work, 'stage');
  await mkdir(stage, { recursive: true });
  const comp = spec.zstd
    ? ['-comp', 'zstd', '-Xcompression-level', '18']
    : ['-comp', 'xz', '-Xdict-size', '100%'];
  const dirs: string[] = [];
  for (const [j, name] of exts.entries()) {
    const e = v.extensions.find((x) => x.name === name)!;
    const dir = path.join(work, 'extensions', String(j));
    await extractImage(abs(`siderolabs/${name}`), e.tag, arch, dir);
    dirs.push(dir);
  }
  // The factory's virtual schematic extension goes last.
  const marker = path.join(work, 'extensions', String(exts.length));
  await mkdir(path.join(marker, 'rootfs', 'usr/local/share/schematic'), { recursive: true });
  await writeFile(path.join(marker, 'rootfs', 'usr/local/share/schematic', schematicId), '');
  await writeFile(
    path.join(marker, 'manifest.yaml'),
    `version: v1alpha1\nmetadata:\n    name: schematic\n    version: ${schematicId}\n`,
  );
  dirs.push(marker);

  // §2.3 modules.dep: stock tree from the base rootfs.sqsh + every extension's modules, depmod'ed.
  const modDirs = dirs.filter((d) => existsSync(path.join(d, 'rootfs', spec.modulesRoot)));
  let moddep = false;
  if (modDirs.length > 0) {
    const base = path.join(work, 'base');
    await mkdir(base, { recursive: true });
    const decomp = spec.zstd ? 'zstd -dc' : 'xz -dc';
    await sh(
      `cd "$B" && ${decomp} "$I" | cpio -i --quiet rootfs.sqsh && unsquashfs -q -n -d "$B/modules" rootfs.sqsh "$M"`,
      {
        env: { ...process.env, B: base, I: abs(v.artifacts[arch]!.initramfs), M: spec.modulesRoot },
      },
    );
    const tree = path.join(base, 'modules', spec.modulesRoot);
    assert.deepEqual(await readdir(tree), [kver]);
    for (const d of modDirs) await cp(path.join(d, 'rootfs', spec.modulesRoot), tree, { recursive: true });
    await run('depmod', [
      '--all',
      '--basedir',
      spec.usrLib ? path.join(base, 'modules', 'usr') : path.join(base, 'modules'),
      kver,
    ]);
    const md = path.join(work, 'moddep', 'rootfs', spec.modulesRoot, kver);
    await mkdir(md, { recursive: true });
    for (const f of await readdir(path.join(tree, kver)))
      if (f.startsWith('modules.')) await cp(path.join(tree, kver, f), path.join(md, f));
    moddep = true;
  }

  const layers: string[] = [];
  for (const [j, dir] of dirs.entries()) {
    const root = path.join(dir, 'rootfs');
    // §2.2.1 early microcode, §2.2.2 firmware (symlinks followed: cp -L).
    await sh(
      `cd "$R" && mkdir -p "$S/kernel/x86/microcode" && ` +
        `for f in $(ls "$FW"/amd-ucode/microcode_amd*.bin 2>/dev/null | LC_ALL=C sort); do cat "$f" >> "$S/kernel/x86/microcode/AuthenticAMD.bin"; rm "$f"; done; ` +
        `for f in $(ls "$FW"/intel-ucode/* 2>/dev/null | LC_ALL=C sort); do cat "$f" >> "$S/kernel/x86/microcode/GenuineIntel.bin"; rm "$f"; done; ` +
        `if [ -d "$FW" ]; then mkdir -p "$S/$FW" && cp -RL "$FW/." "$S/$FW/" && rm -rf "$FW"; fi; ` +
        `rmdir "$S/kernel/x86/microcode" "$S/kernel/x86" "$S/kernel" 2>/dev/null || true`,
      { env: { ...process.env, R: root, S: stage, FW: fw } },
    );
    await run('mksquashfs', [
      root,
      path.join(stage, `${j}.sqsh`),
      '-all-root',
      '-noappend',
      '-no-progress',
      ...comp,
    ]);
    const manifest = await readFile(path.join(dir, 'manifest.yaml'), 'utf8');
    const name = /^\s+name:\s*(.+)$/m.exec(manifest)![1]!.trim();
    const ver = /^\s+version:\s*(.+)$/m
      .exec(manifest)![1]!
      .trim()
      .replace(/^"(.*)"$/, '$1');
    layers.push(
      `    - image: ${j}.sqsh\n      metadata:\n        name: ${name}\n        version: "${ver}"\n        author: x\n        description: |\n            name: decoy\n`,
    );
  }
  if (moddep) {
    await run('mksquashfs', [
      path.join(work, 'moddep', 'rootfs'),
      path.join(stage, 'modules.dep.sqsh'),
      '-all-root',
      '-noappend',
      '-no-progress',
      ...comp,
    ]);
    layers.push(
      `    - image: modules.dep.sqsh\n      metadata:\n        name: modules.dep\n        version: ${kver}\n        author: Talos Machinery\n`,
    );
  }
  await writeFile(path.join(stage, 'extensions.yaml'), `layers:\n${layers.join('')}`);

  // §2.5: `kernel/…` uncompressed and prepended; everything else compressed and appended.
  const out = path.join(work, 'initramfs.xz');
  const compress = spec.zstd ? 'zstd -T0 -18 -c --quiet' : 'xz -C crc32 -0 -e -T 0 -z -c --quiet';
  await sh(
    `cd "$S" && : > "$O" && ` +
      `if [ -d kernel ]; then find kernel | LC_ALL=C sort | cpio -H newc --create --reproducible -R +0:+0 --quiet >> "$O"; fi && ` +
      `cat "$BASE" >> "$O" && ` +
      `find . -mindepth 1 ! -path './kernel' ! -path './kernel/*' | sed 's|^./||' | LC_ALL=C sort | cpio -H newc --create --reproducible -R +0:+0 --quiet | ${compress} >> "$O"`,
    { env: { ...process.env, S: stage, O: out, BASE: abs(v.artifacts[arch]!.initramfs) } },
  );
  await chmod(out, 0o644);
  return out;
}

/** Compares the init's report with what was put into the appendix (from the fixture manifest). */
function checkAppendixReport(
  r: BootReport,
  v: FixtureVersion,
  arch: DebArch,
  exts: string[],
  schematicId: string,
): void {
  const spec = v.spec;
  const kver = fx.kernels[arch]!.kver;
  const fwPrefix = `${spec.firmwareRoot}/`;
  const expectLayers = [...exts, 'schematic', ...(exts.includes('vfat-module') ? ['modules.dep'] : [])];
  assert.deepEqual(
    r.layers.map((l) => l.name),
    expectLayers,
  );
  assert.ok(
    r.layers.every((l) => l.state === 'mounted'),
    JSON.stringify(r.layers.map((l) => [l.image, l.state])),
  );
  assert.deepEqual(r.schematicMarkers, [schematicId]);
  assert.equal(r.layers[exts.length]!.version, schematicId);
  const expectFirmware: string[] = [...v.baseFirmware.map((p) => `/${p}`)];
  for (const [j, name] of exts.entries()) {
    const e = v.extensions.find((x) => x.name === name)!;
    const def = fx.extensions.find((x) => x.name === name)!;
    const layer = r.layers[j]!;
    assert.equal(layer.image, `${j}.sqsh`);
    assert.equal(layer.version, def.version);
    // Files that stay in the squashfs: everything outside the firmware root.
    const kept = e.files[arch]!.filter((f) => !f.path.startsWith(fwPrefix));
    assert.deepEqual(
      layer.files.map((f) => [f.path, f.size]),
      kept.filter((f) => f.type === 'file').map((f) => [`/${f.path}`, f.size]),
      `${name} squashfs content`,
    );
    for (const f of e.files[arch]!.filter((x) => x.path.startsWith(fwPrefix))) {
      if (/amd-ucode\/microcode_amd.*\.bin$/.test(f.path) || /intel-ucode\//.test(f.path)) continue;
      expectFirmware.push(`/${f.path}`);
    }
  }
  assert.deepEqual(r.firmware.map((f) => f.path).sort(), expectFirmware.sort(), 'firmware in the initramfs');
  if (exts.includes('realtek-firmware')) {
    const target = r.firmware.find((f) => f.path.endsWith('rtl8125a-3.fw'))!;
    const link = r.firmware.find((f) => f.path.endsWith('rtl8125-current.fw'))!;
    assert.equal(link.sha256, target.sha256, 'materialised symlink has the target content');
  }
  const ucode = (vendor: string): number => {
    const e = v.extensions.find((x) => x.name === vendor)!;
    return e.files[arch]!.filter((f) => /microcode_amd.*\.bin$|intel-ucode\//.test(f.path)).reduce(
      (n, f) => n + f.size!,
      0,
    );
  };
  const expectMicrocode = [
    ...(exts.includes('amd-ucode') ? [['/kernel/x86/microcode/AuthenticAMD.bin', ucode('amd-ucode')]] : []),
    ...(exts.includes('intel-ucode')
      ? [['/kernel/x86/microcode/GenuineIntel.bin', ucode('intel-ucode')]]
      : []),
  ];
  assert.deepEqual(
    r.microcode.map((m) => [m.path, m.size]),
    expectMicrocode,
  );
  if (exts.includes('vfat-module')) {
    const moddepIndex = r.layers.findIndex((l) => l.name === 'modules.dep');
    assert.equal(r.moddepLayer, moddepIndex);
    assert.equal(r.layers[moddepIndex]!.image, 'modules.dep.sqsh');
    assert.equal(r.layers[moddepIndex]!.version, kver);
    assert.ok(
      r.layers[moddepIndex]!.files.some((f) => f.path === `/${spec.modulesRoot}/${kver}/modules.dep`),
    );
    assert.deepEqual(r.moddepLines, ['extras/vfat.ko: kernel/fs/fat/fat.ko']);
    assert.deepEqual(
      r.modules.map((m) => [m.name, m.exitCode, m.loaded]),
      [['vfat', 0, true]],
    );
    assert.ok(r.loadedModules.includes('fat'));
  }
}

/** Polls `check` until it returns true or `ms` pass. */
async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
