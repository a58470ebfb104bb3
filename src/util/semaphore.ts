/** A counting semaphore bounding concurrent work (e.g. builds on a 2-core machine) and its queue. */
import { FactoryError } from '../errors.js';

/** Bounds concurrent runs; more than `maxWaiting` queued callers are refused with 503 BUSY. */
export class Semaphore {
  #free: number;
  readonly #waiters: (() => void)[] = [];
  readonly #maxWaiting: number;

  constructor(
    readonly capacity: number,
    maxWaiting = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`semaphore capacity must be ≥ 1, got ${capacity}`);
    this.#free = capacity;
    this.#maxWaiting = maxWaiting;
  }

  /** Runs `fn` once a slot is free; the slot is released when `fn` settles. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  /** Slots in use and callers waiting (for metrics). */
  get stats(): { active: number; waiting: number } {
    return { active: this.capacity - this.#free, waiting: this.#waiters.length };
  }

  #acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    if (this.#waiters.length >= this.#maxWaiting) {
      return Promise.reject(
        new FactoryError('BUSY', `too many builds queued (${this.#waiters.length}); try again later`),
      );
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(grant);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(grant);
    });
  }

  #release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#free++;
  }
}
