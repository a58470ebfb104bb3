/**
 * A YAML emitter that reproduces `gopkg.in/yaml.v3` `Marshal` byte for byte for block-style
 * documents: the encoder's style requests (encode.go) feeding libyaml's emitter state machine
 * (emitterc.go), written as a recursive walk over a Go-shaped value tree.
 */
import { FactoryError } from '../../errors.js';
import { codePoints, hasLoneSurrogate } from './chars.js';
import { analyzeScalar, selectScalarStyle, type ScalarStyle } from './analyze.js';
import { isZero, type GoNode } from './node.js';
import { isBase60Float, isOldBool, resolvesToString } from './resolve.js';
import { writeDoubleQuoted, writeLiteral, writePlain, writeSingleQuoted } from './scalar-writers.js';
import { sortEntries } from './sort.js';
import { formatGoFloat } from './strconv.js';
import { YamlWriter } from './writer.js';

/** Emitter options. */
export interface EmitOptions {
  /** Spaces per indentation level (go-yaml's default and the factory's: 4). */
  readonly indent?: number;
}

/** Where a node sits, as libyaml tracks it (plus whether the parent is a block sequence item). */
interface Context {
  readonly simpleKey?: boolean;
  readonly inSequenceItem?: boolean;
}

/** Marshals `node` like go-yaml v3 `yaml.Marshal` (one document, trailing newline). */
export function emitYaml(node: GoNode, options: EmitOptions = {}): string {
  const indent = options.indent ?? 4;
  if (!Number.isInteger(indent) || indent < 2 || indent > 9) {
    throw new FactoryError('INTERNAL', `yaml emitter: indent must be 2..9, got ${indent}`);
  }
  const w = new YamlWriter(indent);
  emitNode(w, node, {});
  w.writeIndent(); // document end
  return w.text();
}

/** The text of a scalar node and the style go-yaml's encoder requests for it. */
function scalarOf(node: GoNode): { text: string; style: ScalarStyle } | undefined {
  switch (node.kind) {
    case 'null':
      return { text: 'null', style: 'plain' };
    case 'bool':
      return { text: node.value ? 'true' : 'false', style: 'plain' };
    case 'int':
      return { text: node.value.toString(), style: 'plain' };
    case 'float':
      return { text: floatText(node.value), style: 'plain' };
    case 'time':
      return { text: node.text, style: 'plain' };
    case 'string':
      return { text: node.value, style: stringStyle(node.value) };
    default:
      return undefined;
  }
}

function floatText(f: number): string {
  const s = formatGoFloat(f);
  if (s === '+Inf') return '.inf';
  if (s === '-Inf') return '-.inf';
  if (s === 'NaN') return '.nan';
  return s;
}

/** encode.go `stringv`: literal for multi-line text, quotes for anything that would not read back as a string. */
function stringStyle(s: string): ScalarStyle {
  if (hasLoneSurrogate(s)) {
    throw new FactoryError('INTERNAL', 'yaml emitter: string contains an unpaired UTF-16 surrogate');
  }
  if (s.includes('\n')) return 'literal';
  const canUsePlain = resolvesToString(s) && !isBase60Float(s) && !isOldBool(s);
  return canUsePlain ? 'plain' : 'double';
}

/** Mapping entries of a struct (omitempty applied) or a map (sorted). */
function mappingEntries(node: GoNode): (readonly [GoNode, GoNode])[] | undefined {
  if (node.kind === 'struct') {
    return node.fields
      .filter((f) => !(f.omitEmpty && isZero(f.value)))
      .map((f): readonly [GoNode, GoNode] => [{ kind: 'string', value: f.key }, f.value]);
  }
  if (node.kind === 'map') return sortEntries(node.entries);
  return undefined;
}

function emitNode(w: YamlWriter, node: GoNode, ctx: Context): void {
  const scalar = scalarOf(node);
  if (scalar) {
    emitScalar(w, scalar.text, scalar.style, ctx);
    return;
  }
  if (node.kind === 'seq') {
    if (node.items.length === 0 || w.flowLevel > 0) emitEmptyFlow(w, '[', ']', node.items.length, ctx);
    else emitBlockSequence(w, node.items, ctx);
    return;
  }
  const entries = mappingEntries(node) ?? [];
  if (entries.length === 0 || w.flowLevel > 0) emitEmptyFlow(w, '{', '}', entries.length, ctx);
  else emitBlockMapping(w, entries, ctx);
}

function emitScalar(w: YamlWriter, text: string, requested: ScalarStyle, ctx: Context): void {
  const cps = codePoints(text);
  const analysis = analyzeScalar(cps);
  const style = selectScalarStyle(requested, analysis, cps.length === 0, {
    flowLevel: w.flowLevel,
    simpleKey: ctx.simpleKey ?? false,
  });
  w.increaseIndent(true, false, ctx.inSequenceItem ?? false);
  if (style === 'plain') writePlain(w, text, cps);
  else if (style === 'single') writeSingleQuoted(w, cps);
  else if (style === 'double') writeDoubleQuoted(w, cps);
  else writeLiteral(w, cps);
  w.popIndent();
}

/** Flow style is only ever chosen for empty collections (`[]`, `{}`), as in go-yaml's block output. */
function emitEmptyFlow(w: YamlWriter, open: string, close: string, size: number, ctx: Context): void {
  if (size !== 0)
    throw new FactoryError('INTERNAL', 'yaml emitter: non-empty flow collections are not supported');
  w.writeIndicator(open, true, true, false);
  w.increaseIndent(true, false, ctx.inSequenceItem ?? false);
  w.flowLevel++;
  w.flowLevel--;
  w.popIndent();
  if (w.column === 0) w.writeIndent();
  w.writeIndicator(close, false, false, false);
}

function emitBlockSequence(w: YamlWriter, items: readonly GoNode[], ctx: Context): void {
  w.increaseIndent(false, false, ctx.inSequenceItem ?? false);
  for (const item of items) {
    w.writeIndent();
    w.writeIndicator('-', true, false, true);
    emitNode(w, item, { inSequenceItem: true });
  }
  w.popIndent();
}

/** libyaml `check_simple_key`: single-line scalars of at most 128 bytes, or empty collections. */
function isSimpleKey(key: GoNode): boolean {
  const scalar = scalarOf(key);
  if (scalar) {
    if (analyzeScalar(codePoints(scalar.text)).multiline) return false;
    return Buffer.byteLength(scalar.text, 'utf8') <= 128;
  }
  if (key.kind === 'seq') return key.items.length === 0;
  return (mappingEntries(key) ?? []).length === 0;
}

function emitBlockMapping(
  w: YamlWriter,
  entries: readonly (readonly [GoNode, GoNode])[],
  ctx: Context,
): void {
  w.increaseIndent(false, false, ctx.inSequenceItem ?? false);
  for (const [key, value] of entries) {
    w.writeIndent();
    if (isSimpleKey(key)) {
      emitNode(w, key, { simpleKey: true });
      w.writeIndicator(':', false, false, false);
    } else {
      w.writeIndicator('?', true, false, true);
      emitNode(w, key, {});
      w.writeIndent();
      w.writeIndicator(':', true, false, true);
    }
    emitNode(w, value, {});
  }
  w.popIndent();
}
