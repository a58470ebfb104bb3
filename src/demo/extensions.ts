/**
 * The fixture system-extension catalog: what each extension contains for a given Talos version and
 * arch, and how its image directory (`manifest.yaml` + `rootfs/`, talos-imager.md §1.4) is staged.
 * Contents are chosen to exercise every path of the factory's initramfs step (§2): plain files,
 * AMD/Intel early microcode, firmware (with a symlink, errata E4), a real kernel module that needs
 * depmod, and a compatibility constraint that excludes old versions.
 */
import { chmod, copyFile, mkdir, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DebArch, DebianKernel } from './debian.js';
import { fakeBytes, sha256File, sha256Hex } from './hash.js';
import type { FixtureVersionSpec } from './versions.js';

/** What an extension is for (lets tests pick one without hard-coding names). */
export type ExtensionKind = 'files' | 'amd-microcode' | 'intel-microcode' | 'firmware' | 'module' | 'compat';

/** Static description of one fixture extension. */
export interface ExtensionDef {
  name: string;
  kind: ExtensionKind;
  /** metadata.version. */
  version: string;
  /**
   * Writes metadata.version unquoted even if it looks like a number (real manifests do; the
   * factory must still emit it as a string in extensions.yaml).
   */
  bareVersion?: boolean;
  author: string;
  description: string;
  /** metadata.compatibility.talos.version, e.g. `>= v1.8.0`. */
  compatibility?: string;
}

/** One entry of an extension's `rootfs/` (path relative to rootfs, no leading slash). */
export interface ExtensionFile {
  path: string;
  type: 'file' | 'symlink';
  /** Regular files: size, sha256 and mode. */
  size?: number;
  sha256?: string;
  mode?: number;
  /** Symlinks: the link target as stored. */
  target?: string;
}

/** Context that decides an extension's bytes. */
export interface ExtensionContext {
  spec: FixtureVersionSpec;
  arch: DebArch;
  kernel: DebianKernel;
}

/** The module the module extension carries, and the base module it depends on. */
export const EXTENSION_MODULE = {
  name: 'vfat',
  source: 'kernel/fs/fat/vfat.ko',
  dependsOn: ['fat'],
} as const;

/** The fixture catalog, in catalog (name) order. */
export const FIXTURE_EXTENSIONS: readonly ExtensionDef[] = [
  {
    name: 'amd-ucode',
    kind: 'amd-microcode',
    version: '20240115',
    author: 'Fixture Labs',
    description: 'Fake AMD microcode blobs (not real microcode) for testing early-microcode handling.',
    compatibility: '>= v1.2.0',
  },
  {
    name: 'future-tools',
    kind: 'compat',
    version: 'v0.2.0',
    author: 'Fixture Labs',
    description: 'Plain files, but only compatible with Talos >= v1.8.0.',
    compatibility: '>= v1.8.0',
  },
  {
    name: 'hello-world-service',
    kind: 'files',
    version: 'v1.0.0',
    author: 'Fixture Labs',
    description: 'Plain files under /usr/local, with no compatibility constraint.',
  },
  {
    name: 'intel-ucode',
    kind: 'intel-microcode',
    version: '20240312',
    bareVersion: true,
    author: 'Fixture Labs',
    description: 'Fake Intel microcode blobs (not real microcode) for testing early-microcode handling.',
    compatibility: '>= v1.2.0',
  },
  {
    name: 'realtek-firmware',
    kind: 'firmware',
    version: '20240115',
    author: 'Fixture Labs',
    description: 'Fake Realtek NIC firmware, including a relative symlink.',
    compatibility: '>= v1.2.0',
  },
  {
    name: 'vfat-module',
    kind: 'module',
    version: 'v1.0.0',
    author: 'Fixture Labs',
    description:
      'The real vfat.ko of the fixture kernel under extras/, depending on fat.ko from the base rootfs.',
    compatibility: '>= v1.2.0',
  },
];

/** The image tag of an extension for a Talos version (each version gets its own build, like `drbd:9.2.4-v1.5.5`). */
export function extensionTag(def: ExtensionDef, spec: FixtureVersionSpec): string {
  return `${def.version}-${spec.tag}`;
}

/** The exact `manifest.yaml` text (2-space indent like the real ones; description as a block scalar). */
export function extensionManifestYaml(def: ExtensionDef): string {
  const version = def.bareVersion ? def.version : JSON.stringify(def.version);
  let text =
    `version: v1alpha1\nmetadata:\n  name: ${def.name}\n  version: ${version}\n  author: ${def.author}\n` +
    `  description: |\n    ${def.description}\n`;
  if (def.compatibility !== undefined)
    text += `  compatibility:\n    talos:\n      version: "${def.compatibility}"\n`;
  return text;
}

type Planned = { path: string; mode: number } & (
  { bytes: Buffer } | { copyFrom: string } | { target: string }
);

/** The files of `def` for a version/arch, before staging. */
function plan(def: ExtensionDef, ctx: ExtensionContext): Planned[] {
  const fw = ctx.spec.firmwareRoot;
  const seed = (p: string): string => `${def.name}:${ctx.arch}:${p}`;
  const fake = (p: string, size: number): Planned => ({
    path: p,
    mode: 0o644,
    bytes: fakeBytes(seed(p), size),
  });
  const text = (p: string, s: string, mode = 0o644): Planned => ({ path: p, mode, bytes: Buffer.from(s) });
  switch (def.kind) {
    case 'files':
      return [
        text(
          'usr/local/etc/containers/hello-world-service.yaml',
          `name: hello-world-service\ncontainer:\n  entrypoint: /hello-world\n`,
        ),
        text(
          'usr/local/lib/containers/hello-world-service/hello.txt',
          `hello from ${def.name} ${def.version} for Talos ${ctx.spec.tag} (${ctx.arch})\n`,
        ),
        text('usr/local/bin/hello-world', `#!/bin/sh\necho "hello from ${def.name} (${ctx.arch})"\n`, 0o755),
      ];
    case 'amd-microcode':
      return [
        fake(`${fw}/amd-ucode/microcode_amd.bin`, 384),
        fake(`${fw}/amd-ucode/microcode_amd_fam17h.bin`, 512),
        // Not matched by the microcode glob: must end up as firmware.
        text(`${fw}/amd-ucode/LICENSE.amd-ucode`, 'Fixture licence text: these bytes are fake microcode.\n'),
      ];
    case 'intel-microcode':
      return [fake(`${fw}/intel-ucode/06-55-04`, 300), fake(`${fw}/intel-ucode/06-8f-08`, 200)];
    case 'firmware':
      return [
        fake(`${fw}/rtl_nic/rtl8125a-3.fw`, 1024),
        fake(`${fw}/rtl_nic/rtl8168h-2.fw`, 700),
        { path: `${fw}/rtl_nic/rtl8125-current.fw`, mode: 0o777, target: 'rtl8125a-3.fw' },
      ];
    case 'module':
      return [
        {
          path: `${ctx.spec.modulesRoot}/${ctx.kernel.kver}/extras/${EXTENSION_MODULE.name}.ko`,
          mode: 0o644,
          copyFrom: path.join(ctx.kernel.modulesDir, EXTENSION_MODULE.source),
        },
      ];
    case 'compat':
      return [
        text('usr/local/bin/future-tool', '#!/bin/sh\necho future\n', 0o755),
        text('usr/local/share/future-tools/README', `future-tools ${def.version} (${ctx.arch})\n`),
      ];
  }
}

/** Stages `<dir>/manifest.yaml` and `<dir>/rootfs/…` for one extension image; returns its file list (sorted by path). */
export async function stageExtension(
  def: ExtensionDef,
  ctx: ExtensionContext,
  dir: string,
): Promise<ExtensionFile[]> {
  await mkdir(path.join(dir, 'rootfs'), { recursive: true });
  await writeFile(path.join(dir, 'manifest.yaml'), extensionManifestYaml(def));
  const files: ExtensionFile[] = [];
  for (const p of plan(def, ctx)) {
    const dest = path.join(dir, 'rootfs', p.path);
    await mkdir(path.dirname(dest), { recursive: true });
    if ('target' in p) {
      await symlink(p.target, dest);
      files.push({ path: p.path, type: 'symlink', target: p.target });
      continue;
    }
    if ('bytes' in p) {
      await writeFile(dest, p.bytes);
      files.push({
        path: p.path,
        type: 'file',
        size: p.bytes.length,
        sha256: sha256Hex(p.bytes),
        mode: p.mode,
      });
    } else {
      await copyFile(p.copyFrom, dest);
      const { size } = await stat(dest);
      files.push({ path: p.path, type: 'file', size, sha256: await sha256File(dest), mode: p.mode });
    }
    await chmod(dest, p.mode);
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
