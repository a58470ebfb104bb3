/**
 * Reading the stock initramfs: decompress by magic (xz, zstd; gzip and plain cpio too, for
 * fixtures) and stream one member out of its newc archive (talos-imager §2.3 step 1).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { FactoryError } from '../../errors.js';
import { readCpio } from '../formats/cpio-reader.js';
import { detectFileKind } from '../formats/magic.js';
import { toolOutput, type ToolOptions } from '../tools/run.js';
import { xzDecompress } from '../tools/xz.js';
import { zstdDecompress } from '../tools/zstd.js';

/** The decompressed cpio stream of an initramfs file. */
export async function initramfsCpioStream(
  path: string,
  options: ToolOptions,
): Promise<{ source: AsyncIterable<Uint8Array>; done: Promise<void> }> {
  const kind = await detectFileKind(path);
  switch (kind) {
    case 'xz': {
      const tool = xzDecompress(path, options);
      return { source: toolOutput(tool), done: tool.done };
    }
    case 'zstd': {
      const tool = zstdDecompress(path, options);
      return { source: toolOutput(tool), done: tool.done };
    }
    case 'gzip': {
      const gunzip = createGunzip();
      const done = pipeline(createReadStream(path), gunzip).catch(() => undefined);
      return { source: gunzip, done };
    }
    case 'cpio':
      return { source: createReadStream(path), done: Promise.resolve() };
    default:
      throw new FactoryError(
        'BUILD_FAILED',
        `${options.step}: ${path} is not an xz, zstd, gzip or cpio initramfs`,
      );
  }
}

/** Streams member `name` (compared without a leading `./` or `/`) of the initramfs to `dest`. */
export async function extractInitramfsMember(
  path: string,
  name: string,
  dest: string,
  options: ToolOptions,
): Promise<void> {
  const { source, done } = await initramfsCpioStream(path, options);
  done.catch(() => undefined); // observed below unless the member was found and the tool stopped
  let found = false;
  try {
    for await (const entry of readCpio(source)) {
      if (entry.name.replace(/^(\.\/|\/)+/, '') !== name) continue;
      if (entry.type !== 'file')
        throw new FactoryError(
          'BUILD_FAILED',
          `${options.step}: ${name} in the base initramfs is not a regular file`,
        );
      await pipeline(Readable.from(entry.content()), createWriteStream(dest));
      found = true;
      break;
    }
  } catch (e) {
    if (e instanceof FactoryError) throw e;
    // A decompressor failure explains a truncated stream better than the cpio reader can.
    await done;
    throw new FactoryError(
      'BUILD_FAILED',
      `${options.step}: reading the base initramfs: ${(e as Error).message}`,
      { cause: e },
    );
  }
  await done;
  if (!found)
    throw new FactoryError('BUILD_FAILED', `${options.step}: ${name} not found in the base initramfs`);
}
