/**
 * go-yaml v3's timestamp resolution: Go `time.Parse` with the four layouts go-yaml tries, and the
 * RFC3339Nano rendering used when a decoded time is marshalled again.
 */

/** A parsed timestamp: wall-clock fields in the parsed zone plus that zone's offset in seconds. */
export interface GoTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly nanos: number;
  readonly offsetSeconds: number;
}

/** go-yaml `parseTimestamp`: undefined unless `s` parses with one of the allowed layouts. */
export function parseGoTimestamp(s: string): GoTime | undefined {
  // go-yaml's quick check: exactly four leading digits followed by '-'.
  if (!/^[0-9]{4}-/.test(s)) return undefined;
  for (const layout of LAYOUTS) {
    const t = parseLayout(s, layout);
    if (t) return t;
  }
  return undefined;
}

/** Go `t.Format(time.RFC3339Nano)`. */
export function formatRfc3339Nano(t: GoTime): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  let frac = '';
  if (t.nanos > 0) frac = `.${String(t.nanos).padStart(9, '0').replace(/0+$/, '')}`;
  let zone = 'Z';
  if (t.offsetSeconds !== 0) {
    const minutes = Math.trunc(t.offsetSeconds / 60);
    const abs = Math.abs(minutes);
    zone = `${minutes < 0 ? '-' : '+'}${p2(Math.trunc(abs / 60))}:${p2(abs % 60)}`;
  }
  const date = `${String(t.year).padStart(4, '0')}-${p2(t.month)}-${p2(t.day)}`;
  return `${date}T${p2(t.hour)}:${p2(t.minute)}:${p2(t.second)}${frac}${zone}`;
}

type Chunk = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'frac9' | 'tz' | { lit: string };

// "2006-1-2T15:4:5.999999999Z07:00", "2006-1-2t15:4:5.999999999Z07:00", "2006-1-2 15:4:5.999999999", "2006-1-2".
const TIME: Chunk[] = ['hour', { lit: ':' }, 'minute', { lit: ':' }, 'second', 'frac9'];
const DATE: Chunk[] = ['year', { lit: '-' }, 'month', { lit: '-' }, 'day'];
const LAYOUTS: Chunk[][] = [
  [...DATE, { lit: 'T' }, ...TIME, 'tz'],
  [...DATE, { lit: 't' }, ...TIME, 'tz'],
  [...DATE, { lit: ' ' }, ...TIME],
  [...DATE],
];

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 0x30 && c <= 0x39;
}

/** Go `getnum(s, fixed=false)`: one or two digits. */
function getnum(s: string): [number, string] | undefined {
  if (!isDigit(s, 0)) return undefined;
  if (!isDigit(s, 1)) return [Number(s[0]), s.slice(1)];
  return [Number(s.slice(0, 2)), s.slice(2)];
}

/** Go `skip`: match a literal, a space in the layout matching a run of spaces. */
function skip(value: string, prefix: string): string | undefined {
  let v = value;
  let p = prefix;
  while (p.length > 0) {
    if (p[0] === ' ') {
      if (v.length > 0 && v[0] !== ' ') return undefined;
      p = p.replace(/^ +/, '');
      v = v.replace(/^ +/, '');
      continue;
    }
    if (v.length === 0 || v[0] !== p[0]) return undefined;
    p = p.slice(1);
    v = v.slice(1);
  }
  return v;
}

function daysIn(month: number, year: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function parseLayout(input: string, layout: Chunk[]): GoTime | undefined {
  let v = input;
  const f = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0, nanos: 0, offsetSeconds: 0 };
  for (const chunk of layout) {
    if (typeof chunk === 'object') {
      const rest = skip(v, chunk.lit);
      if (rest === undefined) return undefined;
      v = rest;
      continue;
    }
    if (chunk === 'year') {
      if (v.length < 4 || !/^[0-9]{4}/.test(v)) return undefined;
      f.year = Number(v.slice(0, 4));
      v = v.slice(4);
    } else if (chunk === 'frac9') {
      // Optional: a '.' or ',' followed by any number of digits (only 9 are significant).
      if (v.length < 2 || (v[0] !== '.' && v[0] !== ',') || !isDigit(v, 1)) continue;
      let i = 1;
      while (i < v.length && isDigit(v, i)) i++;
      f.nanos = Number(v.slice(1, Math.min(i, 10)).padEnd(9, '0'));
      v = v.slice(i);
    } else if (chunk === 'tz') {
      if (v[0] === 'Z') {
        v = v.slice(1);
        continue;
      }
      if (v.length < 6 || v[3] !== ':') return undefined;
      const sign = v[0];
      const hh = v.slice(1, 3);
      const mm = v.slice(4, 6);
      if (!/^[0-9]{2}$/.test(hh) || !/^[0-9]{2}$/.test(mm)) return undefined;
      const hr = Number(hh);
      const mn = Number(mm);
      if (hr > 24 || mn > 60) return undefined;
      if (sign !== '+' && sign !== '-') return undefined;
      f.offsetSeconds = (sign === '-' ? -1 : 1) * (hr * 60 + mn) * 60;
      v = v.slice(6);
    } else {
      const r = getnum(v);
      if (!r) return undefined;
      const [n, rest] = r;
      v = rest;
      if (chunk === 'month') {
        if (n < 1 || n > 12) return undefined;
        f.month = n;
      } else if (chunk === 'day') f.day = n;
      else if (chunk === 'hour') {
        if (n >= 24) return undefined;
        f.hour = n;
      } else if (chunk === 'minute') {
        if (n >= 60) return undefined;
        f.minute = n;
      } else {
        if (n >= 60) return undefined;
        f.second = n;
      }
    }
  }
  if (v.length > 0) return undefined;
  if (f.day < 1 || f.day > daysIn(f.month, f.year)) return undefined;
  return f;
}
