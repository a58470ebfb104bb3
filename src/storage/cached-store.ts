/**
 * A bounded in-memory cache in front of any SchematicStore (spec §6.4): positive entries are kept
 * (LRU, bounded by count), negative answers expire after a short TTL so a schematic created on
 * another replica becomes visible quickly. Gets for one ID are single-flight; errors are not cached.
 */
import { SingleFlight } from '../util/single-flight.js';
import type { SchematicStore } from './schematic-store.js';

/** Options of {@link CachedSchematicStore}. */
export interface CachedStoreOptions {
  capacity: number;
  /** Bound on the cached bytes (schematics can be large: embedded machine configs). Default 64 MiB. */
  maxBytes?: number;
  negativeTtlMs: number;
  now?: () => number;
}

/** Caching decorator for a SchematicStore. */
export class CachedSchematicStore implements SchematicStore {
  readonly #inner: SchematicStore;
  readonly #capacity: number;
  readonly #maxBytes: number;
  #bytes = 0;
  readonly #negativeTtlMs: number;
  readonly #now: () => number;
  readonly #positive = new Map<string, Buffer>();
  readonly #negative = new Map<string, number>();
  readonly #gets = new SingleFlight<string, Buffer | undefined>();

  constructor(inner: SchematicStore, options: CachedStoreOptions) {
    this.#inner = inner;
    this.#capacity = options.capacity;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#negativeTtlMs = options.negativeTtlMs;
    this.#now = options.now ?? Date.now;
  }

  /** Number of positive entries held (for metrics). */
  get size(): number {
    return this.#positive.size;
  }

  #remember(id: string, bytes: Buffer): void {
    if (this.#capacity === 0 || bytes.length > this.#maxBytes) return;
    this.#forget(id);
    this.#positive.set(id, bytes);
    this.#bytes += bytes.length;
    while (this.#positive.size > this.#capacity || this.#bytes > this.#maxBytes) {
      const oldest = this.#positive.keys().next().value;
      if (oldest === undefined) break;
      this.#forget(oldest);
    }
  }

  #forget(id: string): void {
    const old = this.#positive.get(id);
    if (old === undefined) return;
    this.#positive.delete(id);
    this.#bytes -= old.length;
  }

  async get(id: string): Promise<Buffer | undefined> {
    const hit = this.#positive.get(id);
    if (hit) {
      this.#positive.delete(id);
      this.#positive.set(id, hit);
      return hit;
    }
    const negUntil = this.#negative.get(id);
    if (negUntil !== undefined) {
      if (negUntil > this.#now()) return undefined;
      this.#negative.delete(id);
    }
    return this.#gets.do(id, async () => {
      const bytes = await this.#inner.get(id);
      if (bytes) this.#remember(id, bytes);
      else {
        this.#negative.set(id, this.#now() + this.#negativeTtlMs);
        // Bound the negative map too: drop the oldest entries beyond capacity.
        while (this.#negative.size > Math.max(this.#capacity, 1)) {
          const oldest = this.#negative.keys().next().value;
          if (oldest === undefined) break;
          this.#negative.delete(oldest);
        }
      }
      return bytes;
    });
  }

  async has(id: string): Promise<boolean> {
    return (await this.get(id)) !== undefined;
  }

  async put(id: string, bytes: Buffer): Promise<void> {
    if (this.#positive.has(id)) return;
    await this.#inner.put(id, bytes);
    this.#negative.delete(id);
    this.#remember(id, bytes);
  }
}
