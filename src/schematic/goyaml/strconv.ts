/**
 * The parts of Go's `strconv` that decide how go-yaml resolves and prints numbers: ParseInt/ParseUint
 * with base 0, the ParseFloat syntax, and FormatFloat(f, 'g', -1, 64).
 */

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** Result of Go `ParseInt(s, 0, 64)` then `ParseUint(s, 0, 64)`: which one succeeded, or undefined. */
export function parseGoInteger(s: string): { value: bigint; unsigned: boolean } | undefined {
  if (s === '') return undefined;
  let sign = 1n;
  let rest = s;
  let signed = false;
  if (rest[0] === '+' || rest[0] === '-') {
    sign = rest[0] === '-' ? -1n : 1n;
    rest = rest.slice(1);
    signed = true;
  }
  const magnitude = parseUnsignedBase0(rest);
  if (magnitude === undefined) return undefined;
  const value = sign * magnitude;
  if (value >= INT64_MIN && value <= INT64_MAX) return { value, unsigned: false };
  // ParseUint rejects any sign, so only an unsigned literal can reach the uint64 range.
  if (!signed && magnitude <= UINT64_MAX) return { value: magnitude, unsigned: true };
  return undefined;
}

/**
 * Go `ParseInt(s, base, 64)` then `ParseUint(s, base, 64)` for an explicit base (2 or 8): optional
 * sign, digits only. go-yaml calls this on the text after a `0b`/`0o` prefix, so `0b-1` is -1.
 */
export function parseGoIntegerInBase(
  s: string,
  base: 2 | 8,
): { value: bigint; unsigned: boolean } | undefined {
  let sign = 1n;
  let digits = s;
  const signed = s[0] === '+' || s[0] === '-';
  if (signed) {
    sign = s[0] === '-' ? -1n : 1n;
    digits = s.slice(1);
  }
  if (digits === '') return undefined;
  let n = 0n;
  for (const ch of digits) {
    const d = digitValue(ch);
    if (d === undefined || d >= base) return undefined;
    n = n * BigInt(base) + BigInt(d);
    if (n > UINT64_MAX) return undefined;
  }
  const value = sign * n;
  if (value >= INT64_MIN && value <= INT64_MAX) return { value, unsigned: false };
  if (!signed && n <= UINT64_MAX) return { value: n, unsigned: true };
  return undefined;
}

/** Go ParseUint(s, 0, …) digit parsing without the range check (underscores already removed). */
function parseUnsignedBase0(s: string): bigint | undefined {
  if (s === '') return undefined;
  let base = 10;
  let digits = s;
  if (s[0] === '0') {
    const p = s.length >= 3 ? s[1]!.toLowerCase() : '';
    if (p === 'b') [base, digits] = [2, s.slice(2)];
    else if (p === 'o') [base, digits] = [8, s.slice(2)];
    else if (p === 'x') [base, digits] = [16, s.slice(2)];
    else [base, digits] = [8, s.slice(1)];
  }
  let n = 0n;
  const b = BigInt(base);
  for (const ch of digits) {
    const d = digitValue(ch);
    if (d === undefined || d >= base) return undefined;
    n = n * b + BigInt(d);
    if (n > UINT64_MAX) return n; // already out of every range; callers reject it
  }
  return n;
}

function digitValue(ch: string): number | undefined {
  const c = ch.charCodeAt(0);
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return undefined;
}

/** go-yaml's `yamlStyleFloat` regular expression (applied after removing underscores). */
export const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/**
 * Go ParseFloat(s, 64) for a decimal literal (the only kind go-yaml feeds it on the paths that matter:
 * `.5`-style input and YAML_STYLE_FLOAT matches). Undefined on syntax error or overflow (ErrRange).
 */
export function parseGoDecimalFloat(s: string): number | undefined {
  if (!/^[-+]?(?:[0-9_]*\.?[0-9_]*)(?:[eE][-+]?[0-9][0-9_]*)?$/.test(s)) return undefined;
  if (!/[0-9]/.test(s.split(/[eE]/)[0] ?? '')) return undefined;
  if (s.includes('_') && !underscoreOK(s)) return undefined;
  const v = Number(s.replaceAll('_', ''));
  if (!Number.isFinite(v)) return undefined;
  return v;
}

/** Go strconv.underscoreOK: underscores only between digits. */
function underscoreOK(s0: string): boolean {
  let s = s0;
  if (s[0] === '-' || s[0] === '+') s = s.slice(1);
  let saw = '^';
  for (const ch of s) {
    if (ch >= '0' && ch <= '9') {
      saw = '0';
      continue;
    }
    if (ch === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** Go `strconv.FormatFloat(f, 'g', -1, 64)`: shortest round-trip digits, %e form when exp < -4 or exp ≥ 6. */
export function formatGoFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  const neg = f < 0 || Object.is(f, -0);
  const sign = neg ? '-' : '';
  if (f === 0) return `${sign}0`;
  // toExponential() without an argument yields the shortest digits that round-trip, like Go's Ryu.
  const [mantissa = '', expText = '0'] = Math.abs(f).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exp = Number(expText);
  // Go uses %e when the exponent is < -4 or >= the precision, which is 6 for "shortest".
  const eprec = 6;
  if (exp < -4 || exp >= eprec) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const expSign = exp < 0 ? '-' : '+';
    const expAbs = String(Math.abs(exp)).padStart(2, '0');
    return `${sign}${digits[0]}${frac}e${expSign}${expAbs}`;
  }
  const dp = exp + 1;
  if (dp <= 0) return `${sign}0.${'0'.repeat(-dp)}${digits}`;
  if (dp >= digits.length) return `${sign}${digits}${'0'.repeat(dp - digits.length)}`;
  return `${sign}${digits.slice(0, dp)}.${digits.slice(dp)}`;
}
