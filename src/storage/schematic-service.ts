/**
 * Schematic use cases shared by every frontend: create (parse → canonical → ID → store) and load.
 * Parsing goes through a {@link SchematicParser} (in the service: a worker pool, off the event loop).
 */
import { createHash } from 'node:crypto';
import { FactoryError, isFactoryError } from '../errors.js';
import { isSchematicId } from '../schematic/index.js';
import type { CreatedSchematic } from '../schematic/index.js';
import { inlineParser, type SchematicParser } from '../schematic/parse-pool.js';
import type { Schematic } from '../schematic/types.js';
import type { SchematicStore } from './schematic-store.js';

/**
 * The empty schematic (`customization: {}`): upstream treats it as well known, Talos installers
 * default to it and users' scripts download its assets without ever POSTing it, so every factory
 * serves it from the start, whatever the store holds.
 */
export const EMPTY_SCHEMATIC: LoadedSchematic = Object.freeze({
  id: '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba',
  canonical: 'customization: {}\n',
  schematic: Object.freeze({ customization: Object.freeze({}) }),
});

/** Bodies that failed to parse, remembered by hash: a client repeating one costs no parse. */
const REJECTED_CAPACITY = 1024;

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
  /** Request-body hash → the rejection it got (bounded). */
  readonly #rejected = new Map<string, FactoryError>();
  readonly #parser: SchematicParser;

  constructor(
    store: SchematicStore,
    options: {
      parsedCapacity?: number;
      parsedMaxBytes?: number;
      observer?: SchematicObserver;
      parser?: SchematicParser;
    } = {},
  ) {
    this.#store = store;
    this.#observer = options.observer ?? {};
    this.#parser = options.parser ?? inlineParser;
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
    const rejected = this.#rejected.get(bodyKey);
    if (rejected) throw new FactoryError(rejected.code, rejected.message);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    let parsed: CreatedSchematic;
    try {
      parsed = await this.#parser.create(bytes);
    } catch (e) {
      // Only the body's own faults are remembered; BUSY and shutdown say nothing about it.
      if (isFactoryError(e, 'SCHEMATIC_INVALID')) {
        this.#rejected.set(bodyKey, e);
        if (this.#rejected.size > REJECTED_CAPACITY)
          this.#rejected.delete(this.#rejected.keys().next().value!);
      }
      throw e;
    }
    const { schematic, canonical, id } = parsed;
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
    if (id === EMPTY_SCHEMATIC.id) {
      this.#observer.loaded?.(EMPTY_SCHEMATIC);
      return EMPTY_SCHEMATIC;
    }
    const bytes = isSchematicId(id) ? await this.#store.get(id) : undefined;
    if (!bytes) throw new FactoryError('SCHEMATIC_NOT_FOUND', `schematic ID "${id}" not found`);
    const canonical = bytes.toString('utf8');
    const loaded = { id, canonical, schematic: await this.#parser.parse(canonical) };
    this.#remember(loaded);
    this.#observer.loaded?.(loaded);
    return loaded;
  }
}
