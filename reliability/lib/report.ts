/** The reliability report: one row per promise checked, printed as one table. */

/** OK: the promise held; FAIL: it was broken; SKIP: not checked here (says why); INFO: a figure only. */
export type Verdict = 'OK' | 'FAIL' | 'SKIP' | 'INFO';

/** One line of the report. */
export interface Row {
  readonly section: string;
  readonly check: string;
  /** What was measured or seen. */
  readonly figure: string;
  /** What must hold. */
  readonly promise: string;
  readonly verdict: Verdict;
}

/** Collects rows of one section. */
export class Rows {
  readonly rows: Row[] = [];

  constructor(readonly section: string) {}

  /** Adds a checked promise: OK when `ok`, else FAIL. */
  check(check: string, ok: boolean, figure: string, promise: string): boolean {
    this.rows.push({ section: this.section, check, figure, promise, verdict: ok ? 'OK' : 'FAIL' });
    return ok;
  }

  /** Adds a figure that promises nothing by itself. */
  info(check: string, figure: string): void {
    this.rows.push({ section: this.section, check, figure, promise: '–', verdict: 'INFO' });
  }

  /** Adds a row for something not checked, saying why. */
  skip(check: string, why: string, promise = '–'): void {
    this.rows.push({ section: this.section, check, figure: why, promise, verdict: 'SKIP' });
  }
}

/** Wraps `text` into lines of at most `width` characters (at spaces where possible). */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(' ')) {
      if (line === '') line = word;
      else if (line.length + 1 + word.length <= width) line += ` ${word}`;
      else {
        out.push(line);
        line = word;
      }
      while (line.length > width) {
        out.push(line.slice(0, width));
        line = line.slice(width);
      }
    }
    out.push(line);
  }
  return out;
}

/** The rows as a plain-text table with wrapped cells (fits a terminal, pastes into Markdown code). */
export function formatTable(rows: readonly Row[]): string {
  const head = ['section', 'check', 'figure', 'promise', 'result'];
  const widths = [10, 34, 62, 34, 6];
  const cells = rows.map((r) => [r.section, r.check, r.figure, r.promise, r.verdict]);
  const line = (cols: string[][]): string[] => {
    const height = Math.max(...cols.map((c) => c.length));
    const out: string[] = [];
    for (let i = 0; i < height; i++) {
      out.push(
        cols
          .map((c, k) => (c[i] ?? '').padEnd(widths[k] ?? 0))
          .join(' | ')
          .trimEnd(),
      );
    }
    return out;
  };
  const sep = widths.map((w) => '-'.repeat(w)).join('-|-');
  const lines = [...line(head.map((h) => [h])), sep];
  let section = '';
  for (const c of cells) {
    if (c[0] !== section && section !== '') lines.push(sep);
    const shown = c[0] === section ? '' : (c[0] ?? '');
    section = c[0] ?? '';
    lines.push(...line([[shown], ...c.slice(1).map((t, k) => wrap(t, widths[k + 1] ?? 20))]));
  }
  return lines.join('\n');
}

/** The rows as a Markdown table (for the README). */
export function formatMarkdown(rows: readonly Row[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = ['| Section | Check | Figure | Promise | Result |', '|---|---|---|---|---|'];
  for (const r of rows)
    lines.push(`| ${[r.section, r.check, r.figure, r.promise, r.verdict].map(esc).join(' | ')} |`);
  return lines.join('\n');
}

/** `n` with a unit, at `digits` decimals. */
export function fmt(n: number, unit = '', digits = 0): string {
  return `${Number.isFinite(n) ? n.toFixed(digits) : '–'}${unit === '' ? '' : ` ${unit}`}`;
}

/** Counts of `items` by `key`, as `a 3, b 1` (largest first). */
export function tally<T>(items: readonly T[], key: (t: T) => string): string {
  const m = new Map<string, number>();
  for (const t of items) m.set(key(t), (m.get(key(t)) ?? 0) + 1);
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}
