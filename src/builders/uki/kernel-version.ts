/**
 * Kernel version discovery for the `.uname` section (talos-imager.md §5.2: "discovered from the
 * kernel image, else omitted"). x86 bzImage: the boot protocol's `kernel_version` pointer at
 * 0x20E (relative to 0x200, only when it points inside the setup sectors), as upstream reads it.
 * arm64 Image (magic `ARM\x64` at 0x38): the first `Linux version <release>` banner in the file
 * (upstream only handles x86; the banner is the same string `uname -r` prints). Compressed images
 * without a visible banner give `undefined`.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

const BANNER = Buffer.from('Linux version ', 'latin1');
/** arm64 Image banners sit in .rodata; never scan more than this. */
const MAX_SCAN_BYTES = 128 * 1024 * 1024;

/** The kernel release (e.g. `6.1.0-57-amd64`) found in a kernel image, or undefined. */
export async function discoverKernelVersion(kernelPath: string): Promise<string | undefined> {
  const fh = await open(kernelPath, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(1024);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    head = head.subarray(0, bytesRead);
    if (head.length >= 0x210 && head.toString('latin1', 0x202, 0x206) === 'HdrS') {
      const setupSects = head[0x1f1]!;
      const offset = head.readUInt16LE(0x20e);
      if (offset === 0 || offset > setupSects * 0x200) return undefined;
      const buf = Buffer.alloc(256);
      const { bytesRead: n } = await fh.read(buf, 0, buf.length, offset + 0x200);
      const nul = buf.subarray(0, n).indexOf(0);
      if (nul < 0) return undefined;
      return firstWord(buf.toString('latin1', 0, nul));
    }
  } finally {
    await fh.close();
  }
  if (head.length >= 0x3c && head.toString('latin1', 0x38, 0x3c) === 'ARM\x64') return scanBanner(kernelPath);
  return undefined;
}

function firstWord(s: string): string | undefined {
  const w = s.split(' ')[0] ?? '';
  return /^[\x21-\x7e]{1,64}$/.test(w) ? w : undefined;
}

async function scanBanner(kernelPath: string): Promise<string | undefined> {
  let carry = Buffer.alloc(0);
  let scanned = 0;
  for await (const chunk of createReadStream(kernelPath, { highWaterMark: 1 << 20 })) {
    const buf = carry.length === 0 ? (chunk as Buffer) : Buffer.concat([carry, chunk as Buffer]);
    const at = buf.indexOf(BANNER);
    if (at >= 0 && buf.length - at >= BANNER.length + 65) {
      const rest = buf.subarray(at + BANNER.length, at + BANNER.length + 65).toString('latin1');
      return firstWord(rest.split(/[\s\0]/)[0] ?? '');
    }
    // Keep enough tail for a banner (and its release) split across chunks.
    carry = Buffer.from(buf.subarray(Math.max(0, at >= 0 ? at : buf.length - BANNER.length - 65)));
    scanned += (chunk as Buffer).length;
    if (scanned >= MAX_SCAN_BYTES) break;
  }
  const at = carry.indexOf(BANNER);
  if (at < 0) return undefined;
  return firstWord(
    carry
      .subarray(at + BANNER.length)
      .toString('latin1')
      .split(/[\s\0]/)[0] ?? '',
  );
}
