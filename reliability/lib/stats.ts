/** Percentiles and process samplers (RSS, open fds from /proc; heap from the metrics listener). */
import { readdir, readFile } from 'node:fs/promises';

/** The `q` quantile (0–1) of `values` by nearest rank; NaN when empty. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

/** The median of `values`. */
export function median(values: readonly number[]): number {
  return percentile(values, 0.5);
}

/** VmRSS of `pid` in bytes (0 when gone). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return m?.[1] ? Number(m[1]) * 1024 : 0;
}

/** Open file descriptors of `pid` (0 when gone). */
export async function openFds(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])).length;
}

/** V8 figures of one sample (NaN when unavailable). */
export interface HeapFigures {
  /** `nodejs_heap_size_used_bytes`: the V8 heap in use. */
  heap: number;
  /** `nodejs_external_memory_bytes`: what V8 objects hold outside the heap (Buffers). */
  external: number;
  /** The young generation's committed size (`nodejs_heap_space_size_total_bytes{space="new"}`). */
  young: number;
}

/** What a sample holds when there is no metrics listener to ask. */
export const NO_HEAP_FIGURES: Readonly<HeapFigures> = {
  heap: Number.NaN,
  external: Number.NaN,
  young: Number.NaN,
};

/** {@link HeapFigures} from a Prometheus text endpoint. */
export async function heapBytes(metricsUrl: string): Promise<HeapFigures> {
  try {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) });
    const body = await res.text();
    const read = (name: string, labels = '(?:\\{[^}]*\\})?'): number => {
      const m = new RegExp(`^${name}${labels} ([0-9.e+]+)$`, 'm').exec(body);
      return m?.[1] ? Number(m[1]) : Number.NaN;
    };
    return {
      heap: read('nodejs_heap_size_used_bytes'),
      external: read('nodejs_external_memory_bytes'),
      young: read('nodejs_heap_space_size_total_bytes', '\\{space="new"\\}'),
    };
  } catch {
    return { ...NO_HEAP_FIGURES };
  }
}

/** One sample of a process. */
export interface ProcessSample {
  /** Seconds since sampling started. */
  readonly t: number;
  readonly rss: number;
  readonly heap: number;
  readonly external: number;
  readonly young: number;
  readonly fds: number;
}

/** The sum over every label set of metric `name` from a Prometheus text endpoint (NaN when unavailable). */
export async function metricTotal(metricsUrl: string, name: string): Promise<number> {
  try {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) });
    const body = await res.text();
    let sum = 0;
    for (const line of body.split('\n')) {
      const m = /^([a-z_:][a-z0-9_:]*)(?:\{[^}]*\})? ([0-9.e+-]+)$/i.exec(line);
      if (m?.[1] === name) sum += Number(m[2]);
    }
    return sum;
  } catch {
    return Number.NaN;
  }
}
