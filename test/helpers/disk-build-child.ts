/**
 * Child process for the disk-image reproducibility test: builds one metal raw image from the
 * given kernel/initramfs, converts it to qcow2 and compresses the raw with xz, gz and zst, then
 * prints `{"<form>": "<sha256>"}` as one JSON line. Run: node <this> <kernel> <initramfs> <dir>.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { buildRawDiskImage } from '../../src/builders/disk/build-raw.js';
import { finishDiskImage } from '../../src/builders/disk/output.js';

async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

const [kernel, initramfs, dir] = process.argv.slice(2);
if (kernel === undefined || initramfs === undefined || dir === undefined) {
  throw new Error('usage: disk-build-child <kernel> <initramfs> <dir>');
}
const raw = path.join(dir, 'disk.raw');
await buildRawDiskImage({
  version: 'v1.8.3',
  arch: 'amd64',
  secureBoot: false,
  diskSizeMiB: 1246,
  cmdline: 'talos.platform=metal console=tty0 console=ttyS0',
  kernel,
  initramfs,
  meta: [{ key: 0x0a, value: 'repro' }],
  workDir: path.join(dir, 'work'),
  output: raw,
});
const hashes: Record<string, string> = { raw: await sha256File(raw) };
const forms: [string, 'qcow2' | 'raw', string, 'none' | 'xz' | 'gz' | 'zst'][] = [
  ['qcow2', 'qcow2', 'cluster_size=8k', 'none'],
  ['raw.xz', 'raw', '', 'xz'],
  ['raw.gz', 'raw', '', 'gz'],
  ['raw.zst', 'raw', '', 'zst'],
];
for (const [name, format, formatOptions, compression] of forms) {
  // Conversions and compressions read the raw without consuming it (only `none` renames).
  const output = path.join(dir, `disk.${name}`);
  await finishDiskImage({
    raw,
    format,
    formatOptions,
    compression,
    output,
    workDir: path.join(dir, `w-${name}`),
  });
  hashes[name] = await sha256File(output);
}
process.stdout.write(`${JSON.stringify(hashes)}\n`);
