/**
 * Test-only GPT disk with one FAT ESP, built with the Debian tools (mkfs.vfat, mmd, mcopy, sfdisk)
 * as in toolchain.md §3 — for booting UKIs and systemd-boot under OVMF. The product's own GPT/FAT
 * writers live elsewhere; this helper is deliberately the plain tool pipeline.
 */
import { rm, truncate, writeFile } from 'node:fs/promises';
import { run } from '../fixtures/exec.js';

/** One file to put on the ESP: `dest` like `EFI/BOOT/BOOTX64.EFI`, from a path or bytes. */
export interface EspFile {
  dest: string;
  src: string | Buffer;
}

const ESP_GUID = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';

/** Writes a raw GPT disk image at `diskPath` whose only partition (1 MiB in) is a FAT ESP with `files`. */
export async function makeEspDisk(diskPath: string, files: readonly EspFile[], espMiB = 40): Promise<void> {
  const esp = `${diskPath}.esp`;
  const staged: string[] = [];
  try {
    await writeFile(esp, '');
    await truncate(esp, espMiB * 1024 * 1024);
    await run('mkfs.vfat', ['-n', 'ESP', esp], { step: 'esp: mkfs.vfat' });
    const dirs = new Set<string>();
    for (const f of files) {
      const parts = f.dest.split('/').slice(0, -1);
      for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
    }
    for (const d of [...dirs].sort()) await run('mmd', ['-i', esp, `::/${d}`], { step: `esp: mmd ${d}` });
    for (const [i, f] of files.entries()) {
      let src = f.src;
      if (Buffer.isBuffer(src)) {
        const p = `${diskPath}.f${i}`;
        await writeFile(p, src);
        staged.push(p);
        src = p;
      }
      await run('mcopy', ['-i', esp, src, `::/${f.dest}`], { step: `esp: mcopy ${f.dest}` });
    }
    const sectors = (espMiB * 1024 * 1024) / 512;
    await writeFile(diskPath, '');
    await truncate(diskPath, (espMiB + 2) * 1024 * 1024);
    await run('sfdisk', ['-q', diskPath], {
      input: `label: gpt\nstart=2048, size=${sectors}, type=${ESP_GUID}, name="ESP"\n`,
      step: 'esp: sfdisk',
    });
    await run('dd', [`if=${esp}`, `of=${diskPath}`, 'bs=1M', 'seek=1', 'conv=notrunc', 'status=none'], {
      step: 'esp: dd',
    });
  } finally {
    await rm(esp, { force: true });
    for (const p of staged) await rm(p, { force: true });
  }
}
