/**
 * libyaml's four scalar writers as go-yaml v3 uses them (plain, single-quoted, double-quoted,
 * literal). The line width is unlimited in go-yaml v3's Marshal, so the folding branches never fire
 * and are left out.
 */
import { isBreak, isPrintable, LF } from './chars.js';
import type { YamlWriter } from './writer.js';

/** `yaml_emitter_write_plain_scalar`. */
export function writePlain(w: YamlWriter, text: string, cps: readonly number[]): void {
  if (cps.length > 0 && !w.whitespace) w.put(' ');
  if (!cps.some(isBreak)) {
    // The common case: no line breaks, so the text is copied as is.
    w.writeRun(text, cps.length);
    if (cps.length > 0) w.whitespace = false;
    w.indention = false;
    return;
  }
  let breaks = false;
  for (const c of cps) {
    if (c === 0x20) {
      w.writeChar(c);
    } else if (isBreak(c)) {
      if (!breaks && c === LF) w.putBreak();
      w.writeBreak(c);
      breaks = true;
    } else {
      if (breaks) w.writeIndent();
      w.writeChar(c);
      w.indention = false;
      breaks = false;
    }
  }
  if (cps.length > 0) w.whitespace = false;
  w.indention = false;
}

/** `yaml_emitter_write_single_quoted_scalar`. */
export function writeSingleQuoted(w: YamlWriter, cps: readonly number[]): void {
  w.writeIndicator("'", true, false, false);
  let breaks = false;
  for (const c of cps) {
    if (c === 0x20) {
      w.writeChar(c);
    } else if (isBreak(c)) {
      if (!breaks && c === LF) w.putBreak();
      w.writeBreak(c);
      breaks = true;
    } else {
      if (breaks) w.writeIndent();
      if (c === 0x27) w.put("'");
      w.writeChar(c);
      w.indention = false;
      breaks = false;
    }
  }
  w.writeIndicator("'", false, false, false);
  w.whitespace = false;
  w.indention = false;
}

const SHORT_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x00, '0'],
  [0x07, 'a'],
  [0x08, 'b'],
  [0x09, 't'],
  [0x0a, 'n'],
  [0x0b, 'v'],
  [0x0c, 'f'],
  [0x0d, 'r'],
  [0x1b, 'e'],
  [0x22, '"'],
  [0x5c, '\\'],
  [0x85, 'N'],
  [0xa0, '_'],
  [0x2028, 'L'],
  [0x2029, 'P'],
]);

/** The escape sequence (without the backslash) for one character. */
function escapeOf(c: number): string {
  const short = SHORT_ESCAPES.get(c);
  if (short !== undefined) return short;
  const hex = c.toString(16).toUpperCase();
  if (c <= 0xff) return `x${hex.padStart(2, '0')}`;
  if (c <= 0xffff) return `u${hex.padStart(4, '0')}`;
  return `U${hex.padStart(8, '0')}`;
}

/**
 * `yaml_emitter_write_double_quoted_scalar`. go-yaml's BOM test looks at the start of the value, not
 * the current character, so a value starting with U+FEFF gets every character escaped (`\x78`).
 */
export function writeDoubleQuoted(w: YamlWriter, cps: readonly number[]): void {
  w.writeIndicator('"', true, false, false);
  const startsWithBom = cps[0] === 0xfeff;
  const parts: string[] = [];
  let chars = 0;
  for (const c of cps) {
    if (!isPrintable(c) || startsWithBom || isBreak(c) || c === 0x22 || c === 0x5c) {
      const e = `\\${escapeOf(c)}`;
      parts.push(e);
      chars += e.length;
    } else {
      parts.push(String.fromCodePoint(c));
      chars += 1;
    }
  }
  // Double-quoted output never contains a raw line break, so it is one run.
  w.writeRun(parts.join(''), chars);
  w.writeIndicator('"', false, false, false);
  w.whitespace = false;
  w.indention = false;
}

/** `yaml_emitter_write_block_scalar_hints`: indentation indicator and chomping. */
function writeBlockScalarHints(w: YamlWriter, cps: readonly number[]): void {
  const first = cps[0];
  if (first !== undefined && (first === 0x20 || isBreak(first)))
    w.writeIndicator(String(w.bestIndent), false, false, false);
  let chomp = '';
  const last = cps[cps.length - 1];
  if (last === undefined || !isBreak(last)) chomp = '-';
  else if (cps.length === 1) chomp = '+';
  else if (isBreak(cps[cps.length - 2]!)) chomp = '+';
  if (chomp !== '') w.writeIndicator(chomp, false, false, false);
}

/**
 * `yaml_emitter_write_literal_scalar`. v3 writes no newline after the header itself: the first
 * content line's indent provides it, so a value that starts with a line break loses it (Go quirk,
 * kept for byte compatibility).
 */
export function writeLiteral(w: YamlWriter, cps: readonly number[]): void {
  w.writeIndicator('|', true, false, false);
  writeBlockScalarHints(w, cps);
  w.whitespace = true;
  let breaks = true;
  for (const c of cps) {
    if (isBreak(c)) {
      w.writeBreak(c);
      breaks = true;
    } else {
      if (breaks) w.writeIndent();
      w.writeChar(c);
      w.indention = false;
      breaks = false;
    }
  }
}
