/**
 * Durable storage of canonical schematic bytes, keyed by schematic ID. Implementations:
 * filesystem (embedded default), OCI registry, and a bounded in-memory cache in front of either.
 * Every implementation runs the contract suite in `test/contract/schematic-store.contract.ts`.
 */
export interface SchematicStore {
  /** The canonical bytes for `id`, or undefined when absent (or stored but corrupt). */
  get(id: string): Promise<Buffer | undefined>;
  /** Stores `bytes` under `id` (= sha256 of bytes). Idempotent; concurrent puts store once. */
  put(id: string, bytes: Buffer): Promise<void>;
  /** True when `id` is stored. */
  has(id: string): Promise<boolean>;
}
