/**
 * Turns request bytes into text the way libyaml's reader does: BOM-selected UTF-8/UTF-16, strict
 * decoding, and rejection of characters YAML does not allow in a stream.
 */
import { yamlSyntaxError } from './errors.js';

/** Decodes `input` (bytes or text) and checks every character is allowed in a YAML stream. */
export function readYamlInput(input: string | Uint8Array): string {
  const text = typeof input === 'string' ? input.replace(/^\uFEFF/, '') : decodeBytes(input);
  checkAllowedCharacters(text);
  return text;
}

function decodeBytes(bytes: Uint8Array): string {
  let encoding: 'utf-8' | 'utf-16le' | 'utf-16be' = 'utf-8';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) encoding = 'utf-16le';
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) encoding = 'utf-16be';
  try {
    // The decoder drops the BOM that selected the encoding (libyaml skips it too).
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    throw yamlSyntaxError(undefined, `input is not valid ${encoding.toUpperCase()}`);
  }
}

/**
 * libyaml accepts TAB, LF, CR, printable ASCII, NEL and the BMP/astral ranges minus surrogates,
 * U+FFFE and U+FFFF; anything else fails with "control characters are not allowed".
 */
function checkAllowedCharacters(text: string): void {
  const bad = /[^\t\n\r\x20-\x7e\u0085\u00a0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u.exec(text);
  if (!bad) return;
  const line = text.slice(0, bad.index).split(/\r\n|\r|\n|\u0085/).length;
  throw yamlSyntaxError(line, 'control characters are not allowed');
}
