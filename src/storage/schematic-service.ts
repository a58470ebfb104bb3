/**
 * Schematic use cases shared by every frontend: create (parse → canonical → ID → store) and load.
 */
import { createHash } from 'node:crypto';
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

/** Told about every load and creation (metrics). */
export interface SchematicObserver {
  loaded?(schematic: LoadedSchematic): void;
  created?(schematic: LoadedSchematic, isNew: boolean): void;
}

/** Creates and loads schematics through a store. */
export class SchematicService {
  readonly #store: SchematicStore;
  /** Parsed schematics by ID: parsing is the expensive part of a load, and IDs are immutable. */
  readonly #parsed = new Map<string, LoadedSchematic>();
  readonly #parsedCapacity: number;
  readonly #parsedMaxBytes: number;
  #parsedBytes = 0;
  readonly #observer: SchematicObserver;
  /** Request-body hash → ID: clients re-POST the same documents, and parsing dominates a POST. */
  readonly #bodies = new Map<string, string>();

  constructor(
    store: SchematicStore,
    options: { parsedCapacity?: number; parsedMaxBytes?: number; observer?: SchematicObserver } = {},
  ) {
    this.#store = store;
    this.#observer = options.observer ?? {};
    this.#parsedCapacity = options.parsedCapacity ?? 10_000;
    this.#parsedMaxBytes = options.parsedMaxBytes ?? 64 * 1024 * 1024;
  }

  /** Keeps a parsed schematic, bounded by count and by canonical size (a proxy for its memory). */
  #remember(loaded: LoadedSchematic): void {
    if (this.#parsed.has(loaded.id) || loaded.canonical.length * 2 > this.#parsedMaxBytes) return;
    this.#parsed.set(loaded.id, loaded);
    this.#parsedBytes += loaded.canonical.length * 2;
    while (this.#parsed.size > this.#parsedCapacity || this.#parsedBytes > this.#parsedMaxBytes) {
      const [oldest, entry] = this.#parsed.entries().next().value ?? [];
      if (oldest === undefined || entry === undefined) break;
      this.#parsed.delete(oldest);
      this.#parsedBytes -= entry.canonical.length * 2;
    }
  }

  /** Parses a request body, stores the canonical form, returns the ID (SCHEMATIC_INVALID on bad input). */
  async create(body: string | Uint8Array): Promise<LoadedSchematic & { created: boolean }> {
    const bodyKey = createHash('sha256').update(body).digest('hex');
    const knownId = this.#bodies.get(bodyKey);
    const known = knownId === undefined ? undefined : this.#parsed.get(knownId);
    if (known && (await this.#store.has(known.id))) {
      this.#observer.created?.(known, false);
      return { ...known, created: false };
    }
    const { schematic, canonical, id } = createSchematic(body);
    this.#bodies.set(bodyKey, id);
    if (this.#bodies.size > this.#parsedCapacity) {
      const oldest = this.#bodies.keys().next().value;
      if (oldest !== undefined) this.#bodies.delete(oldest);
    }
    const existed = await this.#store.has(id);
    if (!existed) await this.#store.put(id, Buffer.from(canonical, 'utf8'));
    const loaded = { id, canonical, schematic };
    this.#remember(loaded);
    this.#observer.created?.(loaded, !existed);
    return { ...loaded, created: !existed };
  }

  /** Loads a schematic by ID; SCHEMATIC_NOT_FOUND for unknown or malformed IDs. */
  async load(id: string): Promise<LoadedSchematic> {
    const hit = this.#parsed.get(id);
    if (hit) {
      this.#observer.loaded?.(hit);
      return hit;
    }
    const bytes = isSchematicId(id) ? await this.#store.get(id) : undefined;
    if (!bytes) throw new FactoryError('SCHEMATIC_NOT_FOUND', `schematic ID "${id}" not found`);
    const canonical = bytes.toString('utf8');
    const loaded = { id, canonical, schematic: parseSchematic(canonical) };
    this.#remember(loaded);
    this.#observer.loaded?.(loaded);
    return loaded;
  }
}
