/**
 * Error construction for schematic parsing: every rejection is a FactoryError with code
 * SCHEMATIC_INVALID and a go-yaml style message.
 */
import { FactoryError } from '../errors.js';

/** A SCHEMATIC_INVALID error with `message` as the user-facing text. */
export function invalidSchematic(message: string, cause?: unknown): FactoryError {
  return new FactoryError('SCHEMATIC_INVALID', message, cause === undefined ? {} : { cause });
}

/** go-yaml style for syntax-level failures: `yaml: line N: <problem>`. */
export function yamlSyntaxError(line: number | undefined, problem: string): FactoryError {
  return invalidSchematic(line === undefined ? `yaml: ${problem}` : `yaml: line ${line}: ${problem}`);
}

/** Go `%#v` / strconv.Quote of a string: double quotes with Go escapes. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c === 0x07) out += '\\a';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0b) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (/^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]$/u.test(ch) && (c === 0x20 || !/\p{Zs}/u.test(ch)))
      out += ch;
    else if (c <= 0xffff) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += `\\U${c.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}
