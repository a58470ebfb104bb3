/**
 * The schematic acceptance vectors, carried in the repository (`test/data/schematic-vectors.json`,
 * a verbatim copy of the project's shared test data: inputs → canonical bytes → ID, produced by
 * running the real Go YAML library). Tests never read anything outside the repository.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

/** One acceptance vector. */
export interface SchematicVector {
  name: string;
  input: string;
  id?: string;
  canonical?: string;
  error?: boolean;
}

/** Path of the vectors file. */
export const VECTORS_FILE = join(REPO_ROOT, 'test', 'data', 'schematic-vectors.json');

/** The schematic acceptance vectors. */
export function schematicVectors(): SchematicVector[] {
  return JSON.parse(readFileSync(VECTORS_FILE, 'utf8')) as SchematicVector[];
}
