/**
 * Decodes a single- or double-quoted YAML scalar the way libyaml (go-yaml v3's scanner) does:
 * go-yaml knows `\'` but not `\/`, rejects surrogate escapes, and treats LS/PS as line breaks. The
 * `yaml` package follows YAML 1.2 here, so quoted scalars are decoded from their source text instead.
 */

/** A quoted scalar that libyaml would reject. */
export class QuotedScalarError extends Error {}

const SIMPLE_ESCAPES: ReadonlyMap<string, string> = new Map([
  ['0', '\0'],
  ['a', '\x07'],
  ['b', '\b'],
  ['t', '\t'],
  ['\t', '\t'],
  ['n', '\n'],
  ['v', '\v'],
  ['f', '\f'],
  ['r', '\r'],
  ['e', '\x1b'],
  [' ', ' '],
  ['"', '"'],
  ["'", "'"],
  ['\\', '\\'],
  ['N', '\u0085'],
  ['_', '\u00a0'],
  ['L', '\u2028'],
  ['P', '\u2029'],
]);

const HEX_LENGTH: Readonly<Record<string, number>> = { x: 2, u: 4, U: 8 };

function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

function isBreak(c: string | undefined): boolean {
  return c === '\r' || c === '\n' || c === '\u0085' || c === '\u2028' || c === '\u2029';
}

/**
 * Decodes `raw`, the scalar's full source text including both quotes. Throws QuotedScalarError with
 * libyaml's problem text.
 */
export function decodeQuotedScalar(raw: string, single: boolean): string {
  const quote = single ? "'" : '"';
  // Runs of characters that need no special handling (sticky, so it matches exactly at lastIndex).
  const plainRun = /[^ \t\r\n\u0085\u2028\u2029'"\\]+/y;
  let i = 1;
  let out = '';
  // libyaml read_line: CRLF, CR, LF and NEL become "\n"; LS and PS are kept as they are.
  const readLine = (): string => {
    const c = raw[i];
    if (c === '\r' && raw[i + 1] === '\n') {
      i += 2;
      return '\n';
    }
    i += 1;
    return c === '\u2028' || c === '\u2029' ? c : '\n';
  };
  for (;;) {
    if (i >= raw.length) throw new QuotedScalarError('found unexpected end of stream');
    let leadingBlanks = false;
    while (i < raw.length && !isBlank(raw[i]) && !isBreak(raw[i])) {
      const c = raw[i]!;
      if (single && c === "'" && raw[i + 1] === "'") {
        out += "'";
        i += 2;
      } else if (c === quote) {
        break;
      } else if (!single && c === '\\' && isBreak(raw[i + 1])) {
        i += 1;
        readLine();
        leadingBlanks = true;
        break;
      } else if (!single && c === '\\') {
        out += readEscape(raw, i + 1);
        const e = raw[i + 1]!;
        i += 2 + (HEX_LENGTH[e] ?? 0);
      } else {
        // Copy the whole run of ordinary characters at once.
        plainRun.lastIndex = i;
        const run = plainRun.exec(raw)?.[0] ?? raw[i]!;
        out += run;
        i += run.length;
      }
    }
    if (raw[i] === quote) break;
    let whitespaces = '';
    let leadingBreak = '';
    let trailingBreaks = '';
    while (isBlank(raw[i]) || isBreak(raw[i])) {
      if (isBlank(raw[i])) {
        if (!leadingBlanks) whitespaces += raw[i];
        i += 1;
      } else if (!leadingBlanks) {
        whitespaces = '';
        leadingBreak = readLine();
        leadingBlanks = true;
      } else {
        trailingBreaks += readLine();
      }
    }
    if (leadingBlanks) {
      if (leadingBreak.startsWith('\n')) out += trailingBreaks === '' ? ' ' : trailingBreaks;
      else out += leadingBreak + trailingBreaks;
    } else {
      out += whitespaces;
    }
  }
  return out;
}

/** One escape sequence; `at` indexes the character after the backslash. */
function readEscape(raw: string, at: number): string {
  const e = raw[at];
  if (e === undefined) throw new QuotedScalarError('found unexpected end of stream');
  const simple = SIMPLE_ESCAPES.get(e);
  if (simple !== undefined) return simple;
  const len = HEX_LENGTH[e];
  if (len === undefined) throw new QuotedScalarError('found unknown escape character');
  const hex = raw.slice(at + 1, at + 1 + len);
  if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new QuotedScalarError('did not find expected hexdecimal number');
  }
  const value = parseInt(hex, 16);
  if ((value >= 0xd800 && value <= 0xdfff) || value > 0x10ffff) {
    throw new QuotedScalarError('found invalid Unicode character escape code');
  }
  return String.fromCodePoint(value);
}

/**
 * The text of a plain scalar spanning lines, from its source (first to last non-blank character),
 * with libyaml's folding: blanks around a break are dropped, a single "\n" becomes a space, other
 * breaks (LS, PS) and extra empty lines are kept.
 */
export function foldPlainScalar(raw: string): string {
  let out = '';
  const parts = raw.split(/([ \t]*[\n\u2028\u2029][ \t\n\u2028\u2029]*)/);
  for (let k = 0; k < parts.length; k++) {
    const part = parts[k]!;
    if (k % 2 === 0) {
      out += part;
      continue;
    }
    const breaks = part.replace(/[ \t]/g, '');
    const [leading = '', ...trailing] = [...breaks];
    if (leading === '\n') out += trailing.length === 0 ? ' ' : trailing.join('');
    else out += leading + trailing.join('');
  }
  return out;
}
