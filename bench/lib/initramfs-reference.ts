/**
 * The reference for the initramfs benchmark: the same build steps as the factory's initramfs
 * builder, written as one bare bash script of standard tools (tar, cpio, unsquashfs, depmod,
 * mksquashfs, zstd/xz, cat, sha256sum/sha512sum) and timed as one process. The tool flags come
 * from the builder's own exported constants so both sides do the same compression work; what the
 * builder does in-process (tar reading, copying, cpio writing, hashing) the script does with tools.
 */
import { spawn } from 'node:child_process';
import { mksquashfsArgs } from '../../src/builders/tools/mksquashfs.js';
import {
  DEFAULT_APPENDIX_COMPRESSION,
  type AppendixCompression,
} from '../../src/builders/initramfs/compression.js';
import { xzInitramfsArgs } from '../../src/builders/tools/xz.js';
import { zstdInitramfsArgs } from '../../src/builders/tools/zstd.js';

/** What the reference build reads and where it writes. */
export interface ReferenceInitramfsInput {
  /** Scratch directory: created by the script and removed at its end (like the build runner's). */
  workDir: string;
  /** The release's stock initramfs. */
  baseInitramfs: string;
  baseCompression: 'xz' | 'zstd';
  /** Layer blobs (tar, gzip or zstd) of each requested extension, in request order. */
  extensions: readonly { layers: readonly string[] }[];
  /** The virtual schematic extension: the file name under `usr/local/share/schematic/` and its manifest. */
  schematic: { id: string; manifestYaml: string };
  /** Talos ≥ 1.8: zstd squashfs and appendix (xz before). */
  zstd: boolean;
  /** Talos ≥ 1.10: firmware and modules under `usr/lib`. */
  usrLib: boolean;
  /** Appendix compression levels (default: the factory's default). */
  compression?: AppendixCompression;
  /** Where the finished initramfs goes (when `cache` is unset). */
  output: string;
  /** Also do what the asset cache does on put: sha256 + sha512, move into `dir/blobs`, write a key record (fsync'd). */
  cache?: { dir: string; key: string };
}

/** Single-quotes `s` for bash. */
function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function argv(words: readonly string[]): string {
  return words.map(q).join(' ');
}

/** The bash script for `input` (exported so it can be printed or inspected). */
export function referenceInitramfsScript(o: ReferenceInitramfsInput): string {
  const fw = o.usrLib ? 'usr/lib/firmware' : 'lib/firmware';
  const mod = o.usrLib ? 'usr/lib/modules' : 'lib/modules';
  const comp = o.zstd ? 'zstd' : 'xz';
  // Placeholders stand for shell expressions ("$R", …) that must not be quoted as literals.
  const squash = (source: string, dest: string, exclude?: string): string => {
    const raw: Record<string, string> = { '@SRC@': source, '@DST@': dest, '@EXCL@': exclude ?? '' };
    const args = mksquashfsArgs({
      step: 'reference',
      source: '@SRC@',
      dest: '@DST@',
      compression: comp,
      sourceDateEpoch: 0,
      excludeFile: exclude === undefined ? undefined : '@EXCL@',
    });
    return `mksquashfs ${args.map((a) => raw[a] ?? q(a)).join(' ')} > /dev/null`;
  };
  const c = o.compression ?? DEFAULT_APPENDIX_COMPRESSION;
  const compressor = o.zstd
    ? `zstd ${argv(zstdInitramfsArgs(c.zstdLevel))}`
    : `xz ${argv(xzInitramfsArgs(c.xzPreset))}`;
  const decompress = o.baseCompression === 'zstd' ? 'zstd -d -c --quiet' : 'xz -d -c';
  const v = String(o.extensions.length);
  const all = [...o.extensions.map((_, i) => String(i)), v].join(' ');
  // Glue is kept to bash builtins where it can be, so the script's time is the tools' work.
  const lines: string[] = [
    'set -euo pipefail',
    'shopt -s nullglob',
    'umask 022',
    `W=${q(o.workDir)}; S="$W/stage"; BASE=${q(o.baseInitramfs)}; FW=${q(fw)}; MOD=${q(mod)}`,
    `mkdir -p "$S" ${o.extensions.map((_, i) => `"$W/ext/${i}"`).join(' ')} "$W/ext/${v}/rootfs/usr/local/share/schematic"`,
    '# 1. unpack every extension image (layers in order)',
  ];
  o.extensions.forEach((ext, i) => {
    for (const layer of ext.layers) lines.push(`tar -xf ${q(layer)} -C "$W/ext/${i}"`);
  });
  lines.push(
    '# 2. the virtual schematic extension, last (umask 022 gives the 0644 files)',
    `printf '%s' ${q(o.schematic.manifestYaml)} > "$W/ext/${v}/manifest.yaml"`,
    `: > "$W/ext/${v}/rootfs/usr/local/share/schematic/"${q(o.schematic.id)}`,
    '# 3. modules.dep: stock module tree from rootfs.sqsh + extension modules, depmod',
    'moddep=0',
    `for i in ${all}; do if [[ -d "$W/ext/$i/rootfs/$MOD" ]]; then moddep=1; fi; done`,
    'if ((moddep)); then',
    `  ${decompress} "$BASE" | cpio -i --quiet -D "$W" rootfs.sqsh ./rootfs.sqsh`,
    '  unsquashfs -no-xattrs -d "$W/modules" -f -n "$W/rootfs.sqsh" "$MOD" > /dev/null',
    `  for i in ${all}; do`,
    '    if [[ -d "$W/ext/$i/rootfs/$MOD" ]]; then cp -rL "$W/ext/$i/rootfs/$MOD/." "$W/modules/$MOD/"; fi',
    '  done',
    `  printf 'search extras built-in\\n' > "$W/depmod.conf"`,
    '  for k in "$W/modules/$MOD"/*; do kver=${k##*/}; done',
    `  depmod --all --basedir "$W/modules/${o.usrLib ? 'usr/' : ''}" --config "$W/depmod.conf" "$kver"`,
    '  mkdir -p "$W/moddep/rootfs/$MOD/$kver"',
    '  mv "$W/modules/$MOD/$kver"/modules.* "$W/moddep/rootfs/$MOD/$kver/"',
    'fi',
    '# 4. per extension: early microcode, firmware into the stage, the rest squashed',
    `for i in ${all}; do`,
    '  R="$W/ext/$i/rootfs"',
    '  if [[ -d "$R/$FW" ]]; then',
    '    intel=("$R/$FW"/intel-ucode/*); amd=("$R/$FW"/amd-ucode/microcode_amd*.bin)',
    '    if ((${#intel[@]} + ${#amd[@]})) && [[ ! -d "$S/kernel/x86/microcode" ]]; then mkdir -p "$S/kernel/x86/microcode"; fi',
    '    if ((${#intel[@]})); then cat "${intel[@]}" >> "$S/kernel/x86/microcode/GenuineIntel.bin"; fi',
    '    if ((${#amd[@]})); then cat "${amd[@]}" >> "$S/kernel/x86/microcode/AuthenticAMD.bin"; fi',
    '    if [[ ! -d "$S/$FW" ]]; then mkdir -p "$S/$FW"; fi',
    `    (cd "$R/$FW" && find . \\( -path './intel-ucode/*' -o -path './amd-ucode/microcode_amd*.bin' \\) -prune -o -print | cpio -pdmuL --quiet "$S/$FW")`,
    `    printf '%s\\n' "$FW" > "$W/exclude-$i.txt"`,
    `    ${squash('"$R"', '"$S/$i.sqsh"', '"$W/exclude-$i.txt"')}`,
    '  else',
    `    ${squash('"$R"', '"$S/$i.sqsh"')}`,
    '  fi',
    'done',
    'if ((moddep)); then',
    `  ${squash('"$W/moddep/rootfs"', '"$S/modules.dep.sqsh"')}`,
    'fi',
    "# 5. extensions.yaml: the layer list with each manifest's metadata block",
    '{',
    "  echo 'layers:'",
    `  for i in ${all}; do`,
    `    printf '  - image: %s.sqsh\\n    metadata:\\n' "$i"; on=0`,
    `    while IFS= read -r line; do if ((on)); then printf '    %s\\n' "$line"; elif [[ $line == metadata:* ]]; then on=1; fi; done < "$W/ext/$i/manifest.yaml"`,
    '  done',
    `  if ((moddep)); then printf '  - image: modules.dep.sqsh\\n    metadata:\\n      name: modules.dep\\n      version: %s\\n' "$kver"; fi`,
    '} > "$S/extensions.yaml"',
    "# 6. [uncompressed cpio of kernel/] + stock initramfs + compressed cpio of the rest, fsync'd;",
    "#    find's pre-order (parents first) is all the kernel's unpacker needs, so no sort.",
    'cd "$S"',
    '{',
    '  if [[ -d kernel ]]; then find kernel | cpio -o -H newc -R 0:0 --quiet; fi',
    '  cat "$BASE"',
    `  find . -mindepth 1 -path ./kernel -prune -o -printf '%P\\n' | cpio -o -H newc -R 0:0 --quiet | ${compressor}`,
    `} > ${q(o.output)}`,
    `sync ${q(o.output)}`,
    'cd /',
  );
  if (o.cache) {
    const c = o.cache;
    const keyDir = `${c.dir}/keys/${c.key.slice(0, 2)}`;
    lines.push(
      "# 7. asset cache put: both digests, blob moved into place, key record written and fsync'd",
      `read -r sha256 _ < <(sha256sum ${q(o.output)}); read -r sha512 _ < <(sha512sum ${q(o.output)})`,
      `mkdir -p ${q(`${c.dir}/blobs`)} ${q(keyDir)}`,
      `mv ${q(o.output)} ${q(`${c.dir}/blobs/`)}"$sha256"`,
      `printf '{"sha256":"%s","sha512":"%s"}' "$sha256" "$sha512" > ${q(`${keyDir}/.tmp`)}`,
      `sync ${q(`${keyDir}/.tmp`)}`,
      `mv ${q(`${keyDir}/.tmp`)} ${q(`${keyDir}/${c.key}.json`)}`,
    );
  }
  lines.push('rm -rf "$W"');
  return `${lines.join('\n')}\n`;
}

/** Runs the reference script with bash; resolves with its wall time in ms, rejects with its stderr on failure. */
export async function runReferenceInitramfs(input: ReferenceInitramfsInput): Promise<number> {
  const script = referenceInitramfsScript(input);
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`reference initramfs script exited ${code}: ${stderr.trim()}`)),
    );
  });
  return performance.now() - start;
}
