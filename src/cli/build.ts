/**
 * `image-factory build --schematic FILE|ID --version V PATH -o OUT`: the same engine as the
 * service, offline — same config, caches and errors — writing the asset to a file.
 */
import { readFile, rename, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { loadConfig, type ConfigFlags } from '../config/load.js';
import { lookupAsset } from '../assets/lookup.js';
import { FactoryError } from '../errors.js';
import { createFactory } from '../factory.js';
import { parseAssetPath } from '../profile/path.js';
import { isSchematicId } from '../schematic/index.js';
import { tempPathFor } from '../util/atomic-file.js';

/** Arguments of the build command. */
export interface BuildArgs {
  schematic: string;
  version: string;
  path: string;
  output: string;
}

/** A progress line on a TTY (elapsed seconds, redrawn in place); silent otherwise. */
function progress(label: string): { stop(final: string): void } {
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  const draw = () => process.stderr.write(`\r${label} … ${Math.round((Date.now() - started) / 1000)}s`);
  const timer = tty ? setInterval(draw, 250) : undefined;
  if (tty) draw();
  return {
    stop(final: string) {
      if (timer) clearInterval(timer);
      process.stderr.write(`${tty ? '\r\x1b[K' : ''}${final}\n`);
    },
  };
}

/** Runs one build; resolves with the written file's size and sha256. */
export async function build(args: BuildArgs, flags: ConfigFlags): Promise<{ size: number; sha256: string }> {
  const config = loadConfig({ logLevel: 'warn', ...flags });
  const factory = await createFactory(config);
  try {
    let id = args.schematic;
    if (!isSchematicId(id)) {
      const body = await readFile(args.schematic).catch((e: Error) => {
        throw new FactoryError(
          'SCHEMATIC_INVALID',
          `--schematic ${args.schematic}: not a schematic ID and not readable: ${e.message}`,
        );
      });
      id = (await factory.schematics.create(body)).id;
    }
    const line = progress(`building ${args.path} for ${args.version} (schematic ${id.slice(0, 12)}…)`);
    try {
      const { asset } = await lookupAsset(factory, id, args.version, () => parseAssetPath(args.path));
      const tmp = tempPathFor(args.output);
      try {
        await pipeline(await asset.open(), createWriteStream(tmp, { flags: 'wx' }));
        await rename(tmp, args.output);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
      line.stop(`wrote ${args.output} (${asset.size} bytes, sha256 ${asset.sha256})`);
      return { size: asset.size, sha256: asset.sha256 };
    } catch (e) {
      line.stop(`build of ${args.path} failed`);
      throw e;
    }
  } finally {
    await factory.close();
  }
}
