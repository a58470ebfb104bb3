/**
 * The extension `manifest.yaml` model (talos-imager §1.4) and a parser with Go yaml.v3
 * decoding semantics for string fields: every scalar is taken as its text (`20230807.0` stays a
 * string, as when Go decodes into a `string`), plain `~`/`null`/empty mean "", unknown keys are
 * ignored, duplicate keys are errors.
 */
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';

/** The only manifest version Talos accepts. */
export const MANIFEST_VERSION = 'v1alpha1';

/** `metadata` of a manifest; field order is the serialisation order. */
export interface ExtensionMetadata {
  name: string;
  version: string;
  author: string;
  description: string;
  compatibility: { talos: { version: string } };
  /** HEAD only; omitted from YAML when empty. */
  extraInfo?: string;
}

/** A whole manifest. */
export interface ExtensionManifest {
  version: string;
  metadata: ExtensionMetadata;
}

/** A manifest that cannot be decoded; the message names the field. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

const NULL_TEXT = new Set(['', '~', 'null', 'Null', 'NULL']);

/** Decodes manifest YAML; throws {@link ManifestError} naming the offending field. */
export function parseManifest(text: string): ExtensionManifest {
  const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first !== undefined) throw new ManifestError(`invalid YAML: ${first.message.split('\n')[0] ?? ''}`);
  const root = mapOf(doc, doc.contents, '(document)');
  const meta = mapOf(doc, root.get('metadata'), 'metadata');
  const compat = mapOf(doc, meta.get('compatibility'), 'metadata.compatibility');
  const talos = mapOf(doc, compat.get('talos'), 'metadata.compatibility.talos');
  const metadata: ExtensionMetadata = {
    name: str(doc, meta.get('name'), 'metadata.name'),
    version: str(doc, meta.get('version'), 'metadata.version'),
    author: str(doc, meta.get('author'), 'metadata.author'),
    description: str(doc, meta.get('description'), 'metadata.description'),
    compatibility: {
      talos: { version: str(doc, talos.get('version'), 'metadata.compatibility.talos.version') },
    },
  };
  const extraInfo = str(doc, meta.get('extraInfo'), 'metadata.extraInfo');
  if (extraInfo !== '') metadata.extraInfo = extraInfo;
  return { version: str(doc, root.get('version'), 'version'), metadata };
}

/** Fields of a mapping node by key text; an absent or null node reads as an empty mapping. */
function mapOf(doc: Document, value: unknown, field: string): Map<string, unknown> {
  const node = deref(doc, value);
  const out = new Map<string, unknown>();
  if (node === null || node === undefined || (isScalar(node) && isNullScalar(node))) return out;
  if (!isMap(node)) throw new ManifestError(`${field} must be a mapping`);
  for (const pair of node.items) {
    const key = deref(doc, pair.key);
    if (!isScalar(key)) throw new ManifestError(`${field} has a non-scalar key`);
    out.set(String(key.value), pair.value);
  }
  return out;
}

function str(doc: Document, value: unknown, field: string): string {
  const node = deref(doc, value);
  if (node === null || node === undefined) return '';
  if (isScalar(node)) return isNullScalar(node) ? '' : String(node.value);
  if (isSeq(node) || isMap(node)) throw new ManifestError(`${field} must be a string`);
  throw new ManifestError(`${field} must be a string`);
}

function isNullScalar(node: { type?: string; value: unknown }): boolean {
  return node.type === 'PLAIN' && NULL_TEXT.has(String(node.value));
}

function deref(doc: Document, value: unknown): unknown {
  if (isAlias(value)) return value.resolve(doc) as Node | undefined;
  return value;
}
