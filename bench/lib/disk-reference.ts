/**
 * The reference for the disk-image benchmark: the same steps as the raw GRUB disk build, as one
 * bare bash script of standard tools — grub-mkimage (EFI + BIOS), mkfs.vfat + mcopy of a staged
 * ESP tree, mkfs.xfs -p of a protofile, truncate + sgdisk for the partition table, dd with
 * conv=sparse into the partitions, printf/dd for the boot-sector patches — timed as one process.
 */
import { spawn } from 'node:child_process';
import { GRUB_BIOS_MODULES, GRUB_MODULES, GRUB_PREFIX } from '../../src/builders/disk/grub-images.js';

/** Inputs of the reference build. */
export interface ReferenceDiskInput {
  workDir: string;
  output: string;
  diskMiB: number;
  kernel: string;
  initramfs: string;
  grubCfg: string;
  /** mkfs.xfs config file (written by the caller). */
  xfsConfig: string;
}

function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The bash script. */
export function referenceDiskScript(o: ReferenceDiskInput): string {
  const mods = GRUB_MODULES.map(q).join(' ');
  const bios = GRUB_BIOS_MODULES.map(q).join(' ');
  return `set -euo pipefail
W=${q(o.workDir)}; OUT=${q(o.output)}
mkdir -p "$W/esp/EFI/boot" "$W/boot/A" "$W/boot/grub"
grub-mkimage --format x86_64-efi --output "$W/esp/EFI/boot/BOOTX64.efi" --prefix ${q(GRUB_PREFIX)} --compression xz ${mods}
grub-mkimage --format i386-pc --output "$W/core.img" --prefix ${q(GRUB_PREFIX)} ${mods} ${bios}
truncate -s 100M "$W/esp.img"
mkfs.vfat -F 32 -n EFI --invariant "$W/esp.img" >/dev/null
find "$W/esp" -exec touch -h -d @315532800 {} +
TZ=UTC MTOOLS_SKIP_CHECK=1 mcopy -s -p -Q -m -i "$W/esp.img" "$W/esp/EFI" ::
printf '%s' ${q(o.grubCfg)} > "$W/boot/grub/grub.cfg"
cat > "$W/proto" <<EOP
/talos-image
0 0
d--755 0 0
A d--755 0 0
initramfs.xz ---644 0 0 ${o.initramfs}
vmlinuz ---644 0 0 ${o.kernel}
\\$
grub d--755 0 0
grub.cfg ---644 0 0 $W/boot/grub/grub.cfg
\\$
\\$
EOP
truncate -s 1000M "$W/boot.img"
mkfs.xfs -q -n ftype=1 -c options=${q(o.xfsConfig)} -f -L BOOT -m uuid=24c73076-4092-85dd-9d98-686a2dbf6d81 -p "$W/proto" "$W/boot.img"
rm -f "$OUT"; truncate -s ${o.diskMiB}M "$OUT"
sgdisk -U d92d45b3-cde9-8760-be9f-a2a71fac8d11 \\
  -n 1:2048:+100M -t 1:C12A7328-F81F-11D2-BA4B-00A0C93EC93B -c 1:EFI -u 1:bca5174b-0118-8a6a-af0b-2c6e1585acae \\
  -n 2:0:+1M -t 2:21686148-6449-6E6F-744E-656564454649 -c 2:BIOS -A 2:set:2 -u 2:a2a02ff5-d88d-8e6e-9c95-26b9b6c80bc3 \\
  -n 3:0:+1000M -t 3:0FC63DAF-8483-4772-8E79-3D69D8477DE4 -c 3:BOOT -u 3:24c73076-4092-85dd-9d98-686a2dbf6d81 \\
  -n 4:0:+1M -t 4:0FC63DAF-8483-4772-8E79-3D69D8477DE4 -c 4:META -u 4:cf04f137-101e-8ec6-9627-fa3f51cdabb8 \\
  "$OUT" >/dev/null
dd if="$W/esp.img" of="$OUT" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$W/core.img" of="$OUT" bs=512 seek=206848 conv=notrunc status=none
printf '\\x01\\x28\\x03\\x00\\x00\\x00\\x00\\x00' | dd of="$OUT" bs=1 seek=$((206848*512+0x1f4)) conv=notrunc status=none
dd if=/usr/lib/grub/i386-pc/boot.img of="$OUT" bs=446 count=1 conv=notrunc status=none
printf '\\x00\\x28\\x03\\x00\\x00\\x00\\x00\\x00' | dd of="$OUT" bs=1 seek=$((0x5c)) conv=notrunc status=none
printf '\\x90\\x90' | dd of="$OUT" bs=1 seek=$((0x66)) conv=notrunc status=none
dd if="$W/boot.img" of="$OUT" bs=1M seek=102 conv=notrunc,sparse status=none
rm -rf "$W"
`;
}

/** Runs the script; returns wall milliseconds. */
export async function runReferenceDisk(o: ReferenceDiskInput): Promise<number> {
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    const p = spawn('bash', ['-c', referenceDiskScript(o)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`reference disk build exited ${code}: ${err}`)),
    );
  });
  return performance.now() - start;
}
