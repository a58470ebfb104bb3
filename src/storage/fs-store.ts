/**
 * Filesystem SchematicStore (the embedded default): one file per schematic under
 * `<dir>/<id[0..2]>/<id>.yaml`, written atomically, verified on every read.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isSchematicId } from '../schematic/id.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { type Logger, silentLogger } from '../util/logger.js';
import { SingleFlight } from '../util/single-flight.js';
import type { SchematicStore } from './schematic-store.js';

/** Stores canonical schematic bytes as files; a file whose sha256 ≠ its name counts as missing. */
export class FsSchematicStore implements SchematicStore {
  readonly #dir: string;
  readonly #log: Logger;
  readonly #puts = new SingleFlight<string, void>();

  constructor(dir: string, log: Logger = silentLogger) {
    this.#dir = dir;
    this.#log = log;
  }

  #path(id: string): string {
    return join(this.#dir, id.slice(0, 2), `${id}.yaml`);
  }

  async get(id: string): Promise<Buffer | undefined> {
    if (!isSchematicId(id)) return undefined;
    const file = this.#path(id);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== id) {
      // A corrupt file must never be served; move it aside so the next put can heal it.
      this.#log.error({ id, actual, file }, 'schematic file failed verification; treating as missing');
      await rename(file, `${file}.corrupt`).catch(() => undefined);
      return undefined;
    }
    return bytes;
  }

  async has(id: string): Promise<boolean> {
    return (await this.get(id)) !== undefined;
  }

  put(id: string, bytes: Buffer): Promise<void> {
    if (!isSchematicId(id)) return Promise.reject(new Error(`invalid schematic ID ${JSON.stringify(id)}`));
    return this.#puts.do(id, async () => {
      const file = this.#path(id);
      const existing = await stat(file).catch(() => undefined);
      if (existing && (await this.get(id))) return;
      await writeFileAtomic(file, bytes);
    });
  }
}
