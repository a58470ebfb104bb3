/**
 * Schematic use cases shared by every frontend: create (parse → canonical → ID → store) and load.
 */
import { FactoryError } from '../errors.js';
import { createSchematic, isSchematicId, parseSchematic } from '../schematic/index.js';
import type { Schematic } from '../schematic/types.js';
import type { SchematicStore } from './schematic-store.js';

/** A stored schematic: its ID, canonical bytes and parsed form. */
export interface LoadedSchematic {
  id: string;
  canonical: string;
  schematic: Schematic;
}

/** Creates and loads schematics through a store. */
export class SchematicService {
  readonly #store: SchematicStore;

  constructor(store: SchematicStore) {
    this.#store = store;
  }

  /** Parses a request body, stores the canonical form, returns the ID (SCHEMATIC_INVALID on bad input). */
  async create(body: string | Uint8Array): Promise<LoadedSchematic & { created: boolean }> {
    const { schematic, canonical, id } = createSchematic(body);
    const existed = await this.#store.has(id);
    if (!existed) await this.#store.put(id, Buffer.from(canonical, 'utf8'));
    return { id, canonical, schematic, created: !existed };
  }

  /** Loads a schematic by ID; SCHEMATIC_NOT_FOUND for unknown or malformed IDs. */
  async load(id: string): Promise<LoadedSchematic> {
    const bytes = isSchematicId(id) ? await this.#store.get(id) : undefined;
    if (!bytes) throw new FactoryError('SCHEMATIC_NOT_FOUND', `schematic ID "${id}" not found`);
    const canonical = bytes.toString('utf8');
    return { id, canonical, schematic: parseSchematic(canonical) };
  }
}
