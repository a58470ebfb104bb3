/**
 * The fixture SBC overlay image, laid out as published overlays are (errata E15): `artifacts/…`,
 * `installers/default` and `profiles/*.yaml` at the image root. The installer is a shell script
 * speaking the overlay protocol (talos-imager.md §8): `get-options` reads the extra options as YAML
 * on stdin and prints `{name, kernelArgs, partitionOptions}`; `install` reads
 * `{installDisk, mountPrefix, artifactsPath, extraOptions}` and writes into the disk and boot tree.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DebArch } from './debian.js';
import { fakeBytes } from './hash.js';

/** Name, image and fixed facts of the fixture overlay. */
export const FIXTURE_OVERLAY = {
  name: 'fixture-board',
  repo: 'sbc-fixture',
  tag: 'v0.1.0',
  /** Kernel args `get-options` always returns. */
  kernelArgs: ['console=ttyS0', 'fixture.overlay=fixture-board'],
  /** partitionOptions.offset (LBAs skipped before the GPT entries). */
  partitionOffset: 2048,
  /** Byte offset where `install` writes the fake u-boot into installDisk. */
  ubootOffset: 32768,
  ubootSize: 4096,
  dtbSize: 1536,
} as const;

/** The overlay installer script for one arch (the arch is baked in, as real installers are per-arch binaries). */
export function overlayInstallerScript(arch: DebArch): string {
  const o = FIXTURE_OVERLAY;
  return `#!/bin/sh
# Fixture overlay installer (${arch}). Protocol: "$0 get-options" or "$0 install", YAML on stdin.
set -eu
input="$(cat)"
field() { printf '%s\\n' "$input" | sed -n "s/^$1: *//p" | head -n1 | sed "s/^['\\"]//; s/['\\"]$//"; }
case "\${1:-}" in
get-options)
  # extra option "kernelArg: X" (top level of the extra options) adds one more kernel arg.
  extra="$(field kernelArg)"
  echo "name: ${o.name}"
  echo "kernelArgs:"
${o.kernelArgs.map((a) => `  echo "    - ${a}"`).join('\n')}
  if [ -n "$extra" ]; then echo "    - $extra"; fi
  echo "partitionOptions:"
  echo "    offset: ${o.partitionOffset}"
  ;;
install)
  disk="$(field installDisk)"
  prefix="$(field mountPrefix)"
  artifacts="$(field artifactsPath)"
  dd if="$artifacts/${arch}/u-boot/${o.name}/u-boot.bin" of="$disk" bs=512 seek=${o.ubootOffset / 512} conv=notrunc 2>/dev/null
  mkdir -p "$prefix/boot/EFI/dtb"
  cp "$artifacts/${arch}/dtb/fixture/${o.name}.dtb" "$prefix/boot/EFI/dtb/${o.name}.dtb"
  echo "installed by ${o.name} overlay (${arch})" > "$prefix/boot/EFI/${o.name}.txt"
  ;;
*)
  echo "unknown command: \${1:-}" >&2
  exit 1
  ;;
esac
`;
}

/** The profile the overlay adds (same shape as sbc-raspberrypi's `profiles/rpi_generic.yaml`). */
export function overlayProfileYaml(arch: DebArch): string {
  return `arch: ${arch}\nplatform: metal\nsecureboot: false\noutput:\n  kind: image\n  outFormat: .xz\n  imageOptions:\n    diskSize: 1306525696\n    diskFormat: raw\n`;
}

/** Stages the overlay image root for one arch into `dir`; returns the staged relative paths. */
export async function stageOverlay(arch: DebArch, dir: string): Promise<string[]> {
  const o = FIXTURE_OVERLAY;
  const files: [string, Buffer, number][] = [
    [
      `artifacts/${arch}/u-boot/${o.name}/u-boot.bin`,
      fakeBytes(`overlay:u-boot:${arch}`, o.ubootSize),
      0o644,
    ],
    [`artifacts/${arch}/dtb/fixture/${o.name}.dtb`, fakeBytes(`overlay:dtb:${arch}`, o.dtbSize), 0o644],
    ['installers/default', Buffer.from(overlayInstallerScript(arch)), 0o755],
    [`profiles/${o.name}.yaml`, Buffer.from(overlayProfileYaml(arch)), 0o644],
  ];
  for (const [rel, bytes, mode] of files) {
    const dest = path.join(dir, rel);
    await mkdir(path.dirname(dest), { recursive: true });
    await writeFile(dest, bytes);
    await chmod(dest, mode);
  }
  return files.map(([rel]) => rel);
}
