/** Small statistics and the uniform, greppable figure line every benchmark prints. */
import { appendFileSync } from 'node:fs';
import { basename } from 'node:path';

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

/** What a ratio should be: at most `max`, at least `min` (either or both). */
export interface Goal {
  readonly max?: number;
  readonly min?: number;
}

/** One figure as {@link figure} records it for the summary table (`bench/summary.ts`). */
export interface FigureRecord {
  readonly bench: string;
  readonly name: string;
  readonly ours: number;
  readonly reference: number;
  readonly unit: string;
  readonly digits: number;
  readonly goal?: Goal;
}

/** `≤ 1.1×`, `≥ 0.9×`, `0.9–1.1×` or `–`. */
export function goalText(goal: Goal | undefined): string {
  if (goal?.min !== undefined && goal.max !== undefined) return `${goal.min}–${goal.max}×`;
  if (goal?.max !== undefined) return `≤ ${goal.max}×`;
  if (goal?.min !== undefined) return `≥ ${goal.min}×`;
  return '–';
}

/** `met`, `NOT met` or `–` (no goal) for `ratio` against `goal`. */
export function verdict(ratio: number, goal: Goal | undefined): string {
  if (goal === undefined || (goal.max === undefined && goal.min === undefined)) return '–';
  const ok = (goal.max === undefined || ratio <= goal.max) && (goal.min === undefined || ratio >= goal.min);
  return ok ? 'met' : 'NOT met';
}

/**
 * Prints a figure line (with its goal) and, when `BENCH_RESULTS` names a file, appends the figure
 * to it as one JSON line: `npm run bench` collects every benchmark's figures into one table.
 */
export function figure(
  name: string,
  ours: number,
  reference: number,
  unit: string,
  options: { goal?: Goal; digits?: number } = {},
): void {
  const digits = options.digits ?? 0;
  const goal = options.goal;
  const suffix = goal ? ` (goal ${goalText(goal)}: ${verdict(ours / reference, goal)})` : '';
  console.log(`${figureLine(name, ours, reference, unit, digits)}${suffix}`);
  const file = process.env.BENCH_RESULTS;
  if (file === undefined || file === '') return;
  const bench = basename(process.argv[1] ?? 'bench').replace(/\.bench\.[jt]s$/, '');
  const record: FigureRecord = { bench, name, ours, reference, unit, digits, ...(goal ? { goal } : {}) };
  appendFileSync(file, `${JSON.stringify(record)}\n`);
}
