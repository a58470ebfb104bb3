/**
 * How gopkg.in/yaml.v3 (and v4, identical here per errata E6) writes a Go string in block
 * context: plain when it would read back as the same string, double quotes when plain text
 * would resolve to another type (number, bool, null, timestamp, YAML 1.1 bool/base-60), single
 * quotes when plain is not allowed by the emitter's scalar analysis, double quotes when single
 * quotes are not allowed either, and a literal block (`|`, `|-`, `|+`) for text with newlines.
 *
 * TODO: switch to the shared Go-yaml emitter in src/schematic/goyaml/ once it exists; this file
 * covers only the block-context string scalars that extension manifests need.
 */

/** The style yaml.v3 picks for a string value in a block mapping. */
export type ScalarStyle = 'plain' | 'single' | 'double' | 'literal';

/** Chooses the style for `s` as a block-mapping value. */
export function scalarStyle(s: string): ScalarStyle {
  const canUsePlain = resolvesToString(s) && !isBase60Float(s) && !isOldBool(s);
  const requested: ScalarStyle = s.includes('\n') ? 'literal' : canUsePlain ? 'plain' : 'double';
  const a = analyze(s);
  if (requested === 'plain')
    return a.blockPlainAllowed ? 'plain' : a.singleQuotedAllowed ? 'single' : 'double';
  if (requested === 'literal') return a.blockAllowed ? 'literal' : 'double';
  return 'double';
}

/**
 * Renders `s` as it follows `key:` in a block mapping whose keys sit at `indent`; the result
 * starts with the separating space. Block scalars include their content lines, indented to the
 * next level, and end with a newline exactly when the text does; the caller ends the line only
 * when the result does not already end with one.
 */
export function renderScalar(s: string, indent: number): string {
  switch (scalarStyle(s)) {
    case 'plain':
      return ` ${s}`;
    case 'single':
      return ` '${s.replace(/'/g, "''")}'`;
    case 'double':
      return ` ${doubleQuoted(s)}`;
    case 'literal':
      return ` ${literal(s, nextIndent(indent))}`;
  }
}

/** yaml.v3's indentation step (best_indent 4): the next multiple of 4 above `indent`. */
export function nextIndent(indent: number): number {
  return 4 * Math.floor((indent + 4) / 4);
}

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const BOOLS = new Set('true True TRUE false False FALSE'.split(' '));
const SPECIAL_FLOATS = new Set(
  '.nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF'.split(' '),
);
const OLD_BOOLS = new Set('y Y yes Yes YES on On ON n N no No NO off Off OFF'.split(' '));
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

/** True when a plain scalar `s` reads back as a string (yaml.v3 `resolve`). */
function resolvesToString(s: string): boolean {
  if (NULLS.has(s) || BOOLS.has(s) || SPECIAL_FLOATS.has(s) || s === '<<') return false;
  const c = s[0] ?? '';
  if (c === '.') return !goParseFloat(s);
  if (!/[-+0-9]/.test(c)) return true;
  if (isTimestamp(s)) return false;
  const plain = s.replace(/_/g, '');
  if (goParseInt(plain)) return false;
  // Go's ParseFloat rejects overflow (±Inf with ErrRange), so such text stays a string.
  if (YAML_FLOAT.test(plain) && Number.isFinite(Number(plain))) return false;
  const binOct = /^(-?)0([bo])([0-9]+)$/.exec(plain);
  if (binOct !== null && fitsInt(binOct[1] === '-', digitsValue(binOct[3] ?? '', binOct[2] === 'b' ? 2 : 8)))
    return false;
  return true;
}

/** Go strconv.ParseInt / ParseUint with base 0, including their 64-bit range limits. */
function goParseInt(s: string): boolean {
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (m === null) return false;
  const body = m[2] ?? '';
  const lower = body.toLowerCase();
  let value: bigint;
  if (lower.startsWith('0x') || lower.startsWith('0b') || lower.startsWith('0o')) value = BigInt(lower);
  else if (body.length > 1 && body.startsWith('0')) value = BigInt(`0o${body.slice(1)}`);
  else value = BigInt(body);
  return fitsInt(m[1] === '-', value);
}

/** ParseInt (signed 64-bit) or, for non-negative values, ParseUint (unsigned 64-bit). */
function fitsInt(negative: boolean, magnitude: bigint | undefined): boolean {
  if (magnitude === undefined) return false;
  return negative ? magnitude <= 2n ** 63n : magnitude <= 2n ** 64n - 1n;
}

function digitsValue(digits: string, base: 2 | 8): bigint | undefined {
  if (!new RegExp(base === 2 ? '^[01]+$' : '^[0-7]+$').test(digits)) return undefined;
  return BigInt(`${base === 2 ? '0b' : '0o'}${digits}`);
}

/** Go strconv.ParseFloat for strings starting with a dot (decimal forms only can start so). */
function goParseFloat(s: string): boolean {
  return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(s) && Number.isFinite(Number(s));
}

/**
 * yaml.v3's timestamp formats (Go layouts `2006-1-2T15:4:5.999999999Z07:00`, the same with a
 * lower-case `t`, `2006-1-2 15:4:5.999999999` and `2006-1-2`), with Go's range checks.
 */
function isTimestamp(s: string): boolean {
  const m =
    /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:([Tt ])([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(\.[0-9]+)?(Z|[-+][0-9]{2}:[0-9]{2})?)?$/.exec(
      s,
    );
  if (m === null) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (m[4] === undefined) return true;
  if (Number(m[5]) > 23 || Number(m[6]) > 59 || Number(m[7]) > 59) return false;
  // The T forms need a zone; the space form must not have one.
  return m[4] === ' ' ? m[9] === undefined : m[9] !== undefined;
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

function isBase60Float(s: string): boolean {
  return BASE60_FLOAT.test(s);
}

function isOldBool(s: string): boolean {
  return OLD_BOOLS.has(s);
}

interface Analysis {
  blockPlainAllowed: boolean;
  singleQuotedAllowed: boolean;
  blockAllowed: boolean;
}

/** yaml_emitter_analyze_scalar, restricted to what block context needs. */
function analyze(s: string): Analysis {
  if (s === '') return { blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: false };
  const cps = Array.from(s, (ch) => ch.codePointAt(0) ?? 0);
  let blockIndicators = s.startsWith('---') || s.startsWith('...');
  let lineBreaks = false;
  let special = false;
  let tabs = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let precededByWhitespace = true;
  let previousSpace = false;
  let previousBreak = false;
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i] ?? 0;
    const next = cps[i + 1];
    const followedByWhitespace = next === undefined || next === 0x20 || next === 0x09;
    const ch = String.fromCodePoint(c);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true;
      else if ((ch === '?' || ch === ':' || ch === '-') && followedByWhitespace) blockIndicators = true;
    } else if (ch === ':' && followedByWhitespace) blockIndicators = true;
    else if (ch === '#' && precededByWhitespace) blockIndicators = true;

    if (c === 0x09) tabs = true;
    else if (!isPrintable(c)) special = true;
    if (c === 0x20) {
      if (i === 0) leadingSpace = true;
      if (i === cps.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i === cps.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = c === 0x20 || c === 0x09 || isBreak(c) || c === 0;
  }
  let blockPlainAllowed = true;
  let singleQuotedAllowed = true;
  let blockAllowed = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) blockPlainAllowed = false;
  if (trailingSpace) blockAllowed = false;
  if (breakSpace) blockPlainAllowed = singleQuotedAllowed = false;
  if (spaceBreak || tabs || special) blockPlainAllowed = singleQuotedAllowed = false;
  if (spaceBreak || special) blockAllowed = false;
  if (lineBreaks) blockPlainAllowed = false;
  if (blockIndicators) blockPlainAllowed = false;
  // The single-quoted writer would fold a line break into the output; a string that reaches
  // single quotes with one (only U+2028/U+2029 can) is written double-quoted instead.
  if (lineBreaks) singleQuotedAllowed = false;
  return { blockPlainAllowed, singleQuotedAllowed, blockAllowed };
}

function isBreak(c: number): boolean {
  return c === 0x0a || c === 0x0d || c === 0x85 || c === 0x2028 || c === 0x2029;
}

/** yaml.v3 `is_printable`: note that characters beyond the BMP are *not* printable for it. */
function isPrintable(c: number): boolean {
  return (
    c === 0x0a ||
    (c >= 0x20 && c <= 0x7e) ||
    (c >= 0xa0 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff)
  );
}

const ESCAPES: Readonly<Record<number, string>> = {
  0x00: '0',
  0x07: 'a',
  0x08: 'b',
  0x09: 't',
  0x0a: 'n',
  0x0b: 'v',
  0x0c: 'f',
  0x0d: 'r',
  0x1b: 'e',
  0x22: '"',
  0x5c: '\\',
  0x85: 'N',
  0xa0: '_',
  0x2028: 'L',
  0x2029: 'P',
};

function doubleQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (!isPrintable(c) || c === 0xfeff || isBreak(c) || c === 0x22 || c === 0x5c) {
      const short = ESCAPES[c];
      if (short !== undefined) out += `\\${short}`;
      else if (c <= 0xff) out += `\\x${c.toString(16).toUpperCase().padStart(2, '0')}`;
      else if (c <= 0xffff) out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
      else out += `\\U${c.toString(16).toUpperCase().padStart(8, '0')}`;
    } else out += ch;
  }
  return out + '"';
}

/**
 * A literal block scalar exactly as yaml.v3 writes it: the header (indentation hint when the
 * text starts with a space or newline, chomping hint), then each line indented. The emitter only
 * starts a new line before non-empty text, so a leading newline ends up as the header's own line
 * break (yaml.v3 loses it on read-back; we reproduce the bytes, not the fix).
 */
function literal(s: string, contentIndent: number): string {
  let header = '|';
  if (s.startsWith(' ') || s.startsWith('\n')) header += '4';
  if (!s.endsWith('\n')) header += '-';
  else if (s === '\n' || s.endsWith('\n\n')) header += '+';
  const pad = ' '.repeat(contentIndent);
  const [first = '', ...rest] = s.split('\n');
  let out = header + (first === '' ? '' : `\n${pad}${first}`);
  for (const seg of rest) out += `\n${seg === '' ? '' : pad + seg}`;
  return out;
}
