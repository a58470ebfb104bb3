/** Locates the read-only `shared/` folder beside the repository (override: IMAGE_FACTORY_SHARED). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of shared/. */
export function sharedDir(): string {
  if (process.env.IMAGE_FACTORY_SHARED) return resolve(process.env.IMAGE_FACTORY_SHARED);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, '..', 'shared');
    if (existsSync(join(candidate, 'testdata'))) return resolve(candidate);
    dir = dirname(dir);
  }
  throw new Error('shared/ not found beside the repository; set IMAGE_FACTORY_SHARED');
}

/** One acceptance vector of shared/testdata/schematic-vectors.json. */
export interface SchematicVector {
  name: string;
  input: string;
  id?: string;
  canonical?: string;
  error?: boolean;
}

/** The schematic acceptance vectors. */
export function schematicVectors(): SchematicVector[] {
  return JSON.parse(
    readFileSync(join(sharedDir(), 'testdata', 'schematic-vectors.json'), 'utf8'),
  ) as SchematicVector[];
}
