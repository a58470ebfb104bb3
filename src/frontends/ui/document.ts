/**
 * The wizard's schematic document: built from the choices as YAML text and handed to the same
 * creation path as `POST /schematics` (so the ID rules are the API's), and the reverse — an
 * existing schematic turned back into wizard fields for `?schematic-id=` pre-filling.
 */
import type { LoadedSchematic } from '../../storage/schematic-service.js';
import type { MetaValue } from '../../schematic/types.js';

/** What the wizard puts into a schematic. */
export interface DocumentInput {
  readonly extensions: readonly string[];
  readonly extraKernelArgs: readonly string[];
  readonly meta: readonly MetaValue[];
  /** Omitted when unset (`auto`). */
  readonly bootloader?: string;
  readonly overlay?: { readonly image: string; readonly name: string; readonly optionsYaml: string };
}

/** A YAML double-quoted scalar: JSON string syntax is a subset of it. */
const q = (s: string): string => JSON.stringify(s);

/** Thrown for overlay options the wizard cannot embed (the message names the problem). */
export class DocumentInputError extends Error {}

/** Indents YAML text under a key; document markers would end the surrounding document. */
function indentBlock(yaml: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  const out: string[] = [];
  for (const line of yaml.replace(/\s+$/, '').split('\n')) {
    if (/^(---|\.\.\.)(\s|$)/.test(line)) {
      throw new DocumentInputError('overlay options: document markers (--- or ...) are not allowed');
    }
    if (/^\t/.test(line)) throw new DocumentInputError('overlay options: indent with spaces, not tabs');
    out.push(line === '' ? '' : pad + line);
  }
  return out.join('\n');
}

/** Renders the schematic document (YAML; parsed and canonicalised by the schematic service). */
export function schematicDocument(input: DocumentInput): string {
  const lines: string[] = [];
  if (input.overlay) {
    lines.push('overlay:', `  image: ${q(input.overlay.image)}`, `  name: ${q(input.overlay.name)}`);
    if (input.overlay.optionsYaml.trim() !== '') {
      lines.push('  options:', indentBlock(input.overlay.optionsYaml, 4));
    }
  }
  const c: string[] = [];
  if (input.extraKernelArgs.length > 0) {
    c.push('  extraKernelArgs:', ...input.extraKernelArgs.map((a) => `    - ${q(a)}`));
  }
  if (input.meta.length > 0) {
    c.push('  meta:');
    for (const m of input.meta) c.push(`    - key: ${m.key}`, `      value: ${q(m.value)}`);
  }
  if (input.extensions.length > 0) {
    c.push(
      '  systemExtensions:',
      '    officialExtensions:',
      ...input.extensions.map((e) => `      - ${q(e)}`),
    );
  }
  if (input.bootloader !== undefined) c.push(`  bootloader: ${q(input.bootloader)}`);
  if (c.length > 0) lines.push('customization:', ...c);
  else if (lines.length === 0) lines.push('{}');
  return lines.join('\n') + '\n';
}

/** Parses the META textarea: one `key=value` per line, key decimal or 0x-hex in 0–255. */
export function parseMetaLines(text: string): MetaValue[] {
  const out: MetaValue[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const eq = line.indexOf('=');
    const keyText = (eq === -1 ? line : line.slice(0, eq)).trim();
    const key = /^0x[0-9a-f]{1,2}$/i.test(keyText)
      ? Number.parseInt(keyText.slice(2), 16)
      : /^[0-9]{1,3}$/.test(keyText)
        ? Number(keyText)
        : Number.NaN;
    if (eq === -1 || !Number.isInteger(key) || key > 255) {
      throw new DocumentInputError(
        `META line ${i + 1}: expected KEY=VALUE with KEY a number 0–255 (e.g. 0xa=…), got ${JSON.stringify(line)}`,
      );
    }
    out.push({ key, value: line.slice(eq + 1) });
  });
  return out;
}

/** Splits the kernel args field on whitespace. */
export function splitKernelArgs(text: string): string[] {
  return text.split(/\s+/).filter((a) => a !== '');
}

/** The overlay `options:` block of a canonical schematic, dedented (canonical YAML is 4-space indented). */
export function overlayOptionsYaml(canonical: string): string {
  const all = canonical.split('\n');
  const start = all.indexOf('    options:');
  if (start === -1 || all.indexOf('overlay:') === -1) return '';
  const body: string[] = [];
  for (const line of all.slice(start + 1)) {
    if (line !== '' && !line.startsWith('        ')) break;
    body.push(line.slice(8));
  }
  while (body.length > 0 && body[body.length - 1] === '') body.pop();
  return body.length > 0 ? body.join('\n') + '\n' : '';
}

/** Wizard fields pre-filled from an existing schematic, and the fields the wizard cannot carry. */
export interface Prefill {
  readonly extensions: readonly string[];
  readonly cmdline: string;
  readonly meta: string;
  readonly bootloader: string;
  readonly overlay?: { readonly name: string; readonly image: string; readonly optionsYaml: string };
  /** Schematic fields the wizard does not edit; the new schematic will not have them. */
  readonly dropped: readonly string[];
}

/** Maps a stored schematic to wizard fields. */
export function prefillFrom(loaded: LoadedSchematic): Prefill {
  const s = loaded.schematic;
  const c = s.customization;
  const dropped: string[] = [];
  if ((c.embeddedMachineConfiguration ?? '') !== '')
    dropped.push('customization.embeddedMachineConfiguration');
  if (c.secureboot !== undefined) dropped.push('customization.secureboot');
  if (c.diskImage !== undefined) dropped.push('customization.diskImage');
  const args = c.extraKernelArgs ?? [];
  // Arguments with spaces cannot round-trip through the one-line field.
  if (args.some((a) => /\s/.test(a) || a === ''))
    dropped.push('customization.extraKernelArgs (arguments with spaces)');
  const meta = c.meta ?? [];
  const keptMeta = meta.filter((m) => !m.value.includes('\n'));
  if (keptMeta.length !== meta.length) dropped.push('customization.meta (multi-line values)');
  return {
    extensions: [...(c.systemExtensions?.officialExtensions ?? [])],
    cmdline: args.filter((a) => !/\s/.test(a) && a !== '').join(' '),
    meta: keptMeta.map((m) => `0x${m.key.toString(16)}=${m.value}\n`).join(''),
    bootloader: c.bootloader ?? 'auto',
    ...(s.overlay
      ? {
          overlay: {
            name: s.overlay.name,
            image: s.overlay.image,
            optionsYaml: overlayOptionsYaml(loaded.canonical),
          },
        }
      : {}),
    dropped,
  };
}
