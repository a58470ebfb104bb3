/** Single-flight: concurrent calls for the same key share one in-flight promise. */
export class SingleFlight<K, V> {
  readonly #inflight = new Map<K, Promise<V>>();

  /** Runs `fn` for `key` unless a run for that key is already in flight, whose result is shared. */
  do(key: K, fn: () => Promise<V>): Promise<V> {
    const existing = this.#inflight.get(key);
    if (existing) return existing;
    const p = (async () => {
      try {
        return await fn();
      } finally {
        this.#inflight.delete(key);
      }
    })();
    this.#inflight.set(key, p);
    return p;
  }

  /** Number of keys in flight (for metrics and tests). */
  get size(): number {
    return this.#inflight.size;
  }
}
