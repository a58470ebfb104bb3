/**
 * The one HTML escaping helper of the UI. Pages are built with the `html` tagged template: every
 * interpolated value is escaped unless it is already {@link SafeHtml} (the result of another
 * `html` template), so user input, catalog text from registries and schematic content can never
 * become markup. Attribute values must be written in double quotes; the escape covers both text
 * and quoted attributes.
 */

/** A fragment of HTML that is safe to insert as is (produced only by this module). */
export class SafeHtml {
  readonly #text: string;

  /** Use {@link html}; constructing one from arbitrary text would defeat the escaping. */
  private constructor(text: string) {
    this.#text = text;
  }

  /** Internal factory; the only way fragments come into being. */
  static trusted(text: string): SafeHtml {
    return new SafeHtml(text);
  }

  /** The HTML text. */
  toString(): string {
    return this.#text;
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** What may be interpolated: text (escaped), numbers, fragments, lists of those, or nothing. */
export type HtmlValue = string | number | SafeHtml | undefined | null | false | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map((v: HtmlValue) => render(v)).join('');
  return escapeHtml(String(value));
}

/** Tagged template: literal parts are trusted markup, every `${value}` is escaped. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return SafeHtml.trusted(out);
}

/** Joins fragments (or escaped text) with a separator. */
export function join(values: readonly HtmlValue[], separator: HtmlValue = ''): SafeHtml {
  const sep = render(separator);
  return SafeHtml.trusted(values.map((v) => render(v)).join(sep));
}

/** ` name="value"` when `on`, else nothing: for boolean attributes like checked and selected. */
export function attrIf(on: boolean, name: 'checked' | 'selected' | 'disabled' | 'hidden' | 'open'): SafeHtml {
  return SafeHtml.trusted(on ? ` ${name}` : '');
}
