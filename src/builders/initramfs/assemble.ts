/**
 * Writing the final initramfs (talos-imager §2.5): the early-microcode archive (uncompressed) goes
 * *before* the original initramfs (the kernel only finds early microcode at the very start), the
 * stage — listed in Talos' walk order — goes to a compressed newc archive appended *after* it.
 * The file is written beside `output` and renamed into place.
 */
import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { CpioWriter } from '../formats/cpio.js';
import { detectFileKind } from '../formats/magic.js';
import { type RunningTool, toolOutput } from '../tools/run.js';
import { xzCompress } from '../tools/xz.js';
import { zstdCompress } from '../tools/zstd.js';
import { tempPathFor } from '../../util/atomic-file.js';
import type { AppendixCompression } from './compression.js';
import type { Stage } from './stage.js';

/** Inputs of {@link assembleInitramfs}. */
export interface AssembleOptions {
  stage: Stage;
  baseInitramfs: string;
  output: string;
  zstd: boolean;
  /** Levels of the appendix compressor (default: the imager's). */
  compression?: AppendixCompression;
  /** The early archive (microcode) to place first, if any. */
  prefix?: string;
  /** mtime for every cpio entry. */
  mtime: number;
  signal?: AbortSignal;
}

/** Byte ranges of the parts written, for callers and tests. */
export interface AssembledLayout {
  /** Size of the prepended uncompressed cpio (0 when there was no `kernel/` content). */
  prefixSize: number;
  baseOffset: number;
  baseSize: number;
  appendixOffset: number;
  appendixSize: number;
  totalSize: number;
}

/** Writes `[early cpio] + base + compress(cpio(rest))` to `output` atomically. */
export async function assembleInitramfs(o: AssembleOptions): Promise<AssembledLayout> {
  const rest = o.stage.paths();
  const tmp = tempPathFor(o.output);
  const fh = await open(tmp, 'wx', 0o644);
  let offset = 0;
  const sink = async (chunk: Buffer): Promise<void> => {
    await fh.write(chunk);
    offset += chunk.length;
  };
  try {
    if (o.prefix !== undefined) {
      for await (const chunk of createReadStream(o.prefix) as AsyncIterable<Buffer>) await sink(chunk);
    }
    const prefixSize = offset;
    // The kernel only recognises an uncompressed cpio at a 4-byte-aligned offset (toolchain §5).
    if ((await detectFileKind(o.baseInitramfs)) === 'cpio' && offset % 4 !== 0)
      await sink(Buffer.alloc(4 - (offset % 4)));
    const baseOffset = offset;
    for await (const chunk of createReadStream(o.baseInitramfs) as AsyncIterable<Buffer>) await sink(chunk);
    const baseSize = offset - baseOffset;
    const appendixOffset = offset;
    if (rest.length > 0) {
      const step = `initramfs: compress appendix (${o.zstd ? 'zstd' : 'xz'})`;
      const tool: RunningTool = o.zstd
        ? zstdCompress({ step, signal: o.signal, level: o.compression?.zstdLevel })
        : xzCompress({ step, signal: o.signal, preset: o.compression?.xzPreset });
      const produce = (async (): Promise<void> => {
        try {
          const writer = new CpioWriter(tool.stdin, { mtime: o.mtime });
          await o.stage.addEntries(writer, rest);
          await writer.finish();
        } finally {
          tool.stdin.end();
        }
      })();
      const consume = (async (): Promise<void> => {
        for await (const chunk of toolOutput(tool)) await sink(chunk);
      })();
      const results = await Promise.allSettled([tool.done, consume, produce]);
      // Report the root cause: the tool's own failure (with its stderr), then a failed write of its
      // output; the producer's broken pipe is only a consequence of either.
      for (const r of results) if (r.status === 'rejected') throw r.reason;
    }
    const layout: AssembledLayout = {
      prefixSize,
      baseOffset,
      baseSize,
      appendixOffset,
      appendixSize: offset - appendixOffset,
      totalSize: offset,
    };
    await fh.sync();
    await fh.close();
    await rename(tmp, o.output);
    return layout;
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
