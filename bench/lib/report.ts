/** Small statistics and the uniform, greppable figure line every benchmark prints. */

/** The median of `values` (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** `name: X unit vs reference Y unit = R×` with `digits` decimals for X and Y. */
export function figureLine(name: string, ours: number, reference: number, unit: string, digits = 0): string {
  return `${name}: ${ours.toFixed(digits)} ${unit} vs reference ${reference.toFixed(digits)} ${unit} = ${(ours / reference).toFixed(2)}×`;
}

/** Milliseconds taken by `fn` (monotonic clock) together with its result. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

/** A positive number from the environment, or `fallback`. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`environment variable ${name}: expected a positive number, got ${JSON.stringify(raw)}`);
  return n;
}
