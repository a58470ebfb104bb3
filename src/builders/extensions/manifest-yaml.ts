/**
 * yaml.v3-identical serialisation (indent 4) of the two fixed shapes we write: an extension
 * `manifest.yaml` and the initramfs `extensions.yaml` (talos-imager §2.4, errata E6).
 *
 * TODO: replace with the shared Go-yaml emitter from src/schematic/goyaml/ when it lands.
 */
import { nextIndent, renderScalar } from './goyaml-scalar.js';
import type { ExtensionManifest, ExtensionMetadata } from './manifest.js';

/** A tiny YAML tree: strings, ordered maps and sequences. */
type Node = string | { map: readonly (readonly [string, Node])[] } | { seq: readonly Node[] };

/** The bytes yaml.v3 writes for a manifest (struct order; `extraInfo` omitted when empty). */
export function emitManifest(manifest: ExtensionManifest): string {
  return emitRoot([
    ['version', manifest.version],
    ['metadata', metadataNode(manifest.metadata)],
  ]);
}

/** One `extensions.yaml` layer: the squashfs file name and the extension's metadata. */
export interface ExtensionsLayer {
  image: string;
  metadata: ExtensionMetadata;
}

/** The bytes of `/extensions.yaml` for the given layers, in order. */
export function emitExtensionsConfig(layers: readonly ExtensionsLayer[]): string {
  return emitRoot([
    [
      'layers',
      {
        seq: layers.map((l) => ({
          map: [
            ['image', l.image],
            ['metadata', metadataNode(l.metadata)],
          ],
        })),
      },
    ],
  ]);
}

function metadataNode(m: ExtensionMetadata): Node {
  const entries: (readonly [string, Node])[] = [
    ['name', m.name],
    ['version', m.version],
    ['author', m.author],
    ['description', m.description],
    ['compatibility', { map: [['talos', { map: [['version', m.compatibility.talos.version]] }]] }],
  ];
  if (m.extraInfo !== undefined && m.extraInfo !== '') entries.push(['extraInfo', m.extraInfo]);
  return { map: entries };
}

function emitRoot(entries: readonly (readonly [string, Node])[]): string {
  const out: string[] = [];
  emitMap(entries, 0, out, '');
  return out.join('');
}

/**
 * Appends a block mapping whose keys sit at column `indent`. `firstPrefix` replaces the
 * indentation of the first key (a sequence item puts its `- ` there).
 */
function emitMap(
  entries: readonly (readonly [string, Node])[],
  indent: number,
  out: string[],
  firstPrefix?: string,
): void {
  entries.forEach(([key, value], i) => {
    const lead = i === 0 && firstPrefix !== undefined ? firstPrefix : ' '.repeat(indent);
    emitValue(`${lead}${key}:`, value, indent, out);
  });
}

function emitValue(head: string, value: Node, indent: number, out: string[]): void {
  if (typeof value === 'string') {
    const text = head + renderScalar(value, indent);
    out.push(text.endsWith('\n') ? text : `${text}\n`);
  } else if ('map' in value) {
    if (value.map.length === 0) {
      out.push(`${head} {}\n`);
      return;
    }
    out.push(`${head}\n`);
    emitMap(value.map, nextIndent(indent), out);
  } else {
    if (value.seq.length === 0) {
      out.push(`${head} []\n`);
      return;
    }
    out.push(`${head}\n`);
    emitSeq(value.seq, nextIndent(indent), out);
  }
}

/** A block sequence with `- ` at `indent`; nested collections start two columns further in. */
function emitSeq(items: readonly Node[], indent: number, out: string[]): void {
  const dash = `${' '.repeat(indent)}- `;
  for (const item of items) {
    if (typeof item === 'string') {
      const text = dash.trimEnd() + renderScalar(item, indent + 2);
      out.push(text.endsWith('\n') ? text : `${text}\n`);
    } else if ('map' in item && item.map.length > 0) {
      emitMap(item.map, indent + 2, out, dash);
    } else if ('seq' in item && item.seq.length > 0) {
      throw new Error('goyaml: nested sequences are not needed here');
    } else {
      out.push(`${dash}${'map' in item ? '{}' : '[]'}\n`);
    }
  }
}
