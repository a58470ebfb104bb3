/**
 * Character classes of libyaml as ported by go-yaml v3 (yamlprivateh.go), on Unicode code points.
 * go-yaml works on UTF-8 bytes; these predicates give the same answers per character.
 */

/** Line feed. */
export const LF = 0x0a;

/** True for characters libyaml treats as printable (note: astral characters are NOT printable). */
export function isPrintable(c: number): boolean {
  return (
    c === 0x0a ||
    (c >= 0x20 && c <= 0x7e) ||
    (c >= 0xa0 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff)
  );
}

/** Line breaks of YAML 1.1: CR, LF, NEL, LS, PS. */
export function isBreak(c: number): boolean {
  return c === 0x0d || c === 0x0a || c === 0x85 || c === 0x2028 || c === 0x2029;
}

/** Space or tab. */
export function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Blank, break, or NUL/end of input (`c === undefined`). */
export function isBlankZ(c: number | undefined): boolean {
  return c === undefined || c === 0 || isBlank(c) || isBreak(c);
}

/** Unicode digit (Go `unicode.IsDigit`, category Nd). */
export function isUnicodeDigit(c: number): boolean {
  return DIGIT_RE.test(String.fromCodePoint(c));
}

/** Unicode letter (Go `unicode.IsLetter`, category L). */
export function isUnicodeLetter(c: number): boolean {
  return LETTER_RE.test(String.fromCodePoint(c));
}

const DIGIT_RE = /^\p{Nd}$/u;
const LETTER_RE = /^\p{L}$/u;

/** The code points of `s` (a string without lone surrogates). */
export function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0) ?? 0);
  return out;
}

/** True when `s` contains an unpaired UTF-16 surrogate (not representable as UTF-8). */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE_RE.test(s);
}

const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
