/** unsquashfs wrappers. */
import { type ToolOptions, runTool } from './run.js';

/** Options for {@link unsquashfsExtract}. */
export interface UnsquashfsExtractOptions extends ToolOptions {
  image: string;
  dest: string;
  /** Paths inside the image to extract (all when empty). */
  paths?: readonly string[];
}

/** Extracts (parts of) a squashfs image into `dest`, without xattrs (talos-imager §2.3 step 2). */
export async function unsquashfsExtract(o: UnsquashfsExtractOptions): Promise<void> {
  await runTool(
    o.command ?? 'unsquashfs',
    ['-no-xattrs', '-d', o.dest, '-f', '-n', o.image, ...(o.paths ?? [])],
    o,
  );
}

/** Lists every path in a squashfs image (relative, without the `squashfs-root` prefix). */
export async function unsquashfsList(image: string, options: ToolOptions): Promise<string[]> {
  const out = await runTool(options.command ?? 'unsquashfs', ['-d', '', '-l', '-n', image], {
    ...options,
    stdout: 'capture',
  });
  return out
    .toString('utf8')
    .split('\n')
    .map((line) => line.replace(/^\//, ''))
    .filter((line) => line !== '');
}
