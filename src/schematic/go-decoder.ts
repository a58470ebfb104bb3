/**
 * go-yaml v3's decoder (decode.go) over YNodes: strict struct decoding (unknown and duplicate keys
 * are errors), scalars decoded into strings keep their source text, YAML 1.1 bool words for typed
 * bools, `<<` merge keys, aliases with go-yaml's expansion limits. Type errors are collected and
 * reported together as `yaml: unmarshal errors:` like go-yaml's TypeError; structural problems abort.
 */
import { formatRfc3339Nano } from './goyaml/timestamp.js';
import { oldBoolValue, resolveScalar, ResolveError, TAG, type Resolved } from './goyaml/resolve.js';
import { GENERAL_MAP, IFACE, STRING, STRING_MAP, type GoType } from './go-types.js';
import { goQuote } from './errors.js';
import { keyIdentity, YamlMapBuilder } from './yaml-map.js';
import type { YamlScalar, YamlValue } from './types.js';
import type { YNode } from './yaml-tree.js';

/** A decode failure that stops decoding (go-yaml `failf`/`fail`); `message` is the full text. */
export class DecodeAbort extends Error {}

/** The decoded value of one Go slot. Struct values are mutable maps filled in place. */
export type Slot = unknown;

/** Result of decoding into a slot: whether it was set, and the slot's (possibly new) value. */
interface Result {
  readonly good: boolean;
  readonly value: Slot;
}

/** A Go struct value: field key → decoded value (zero values pre-filled). */
export type StructValue = Map<string, Slot>;

/** Limits that keep hostile documents bounded. */
export interface DecodeLimits {
  /** Maximum decode operations (go-yaml counts one per node visit, aliases expanded). */
  readonly maxDecodeOps: number;
  /** Maximum collected type errors before giving up. */
  readonly maxErrors: number;
  /** Maximum collection nesting after alias expansion. */
  readonly maxDepth: number;
}

const DEFAULT_LIMITS: DecodeLimits = { maxDecodeOps: 1_000_000, maxErrors: 64, maxDepth: 64 };

// go-yaml's alias expansion heuristic (decode.go allowedAliasRatio).
const ALIAS_RATIO_LOW = 400_000;
const ALIAS_RATIO_HIGH = 4_000_000;

function allowedAliasRatio(decodeCount: number): number {
  if (decodeCount <= ALIAS_RATIO_LOW) return 0.99;
  if (decodeCount >= ALIAS_RATIO_HIGH) return 0.1;
  return 0.99 - 0.89 * ((decodeCount - ALIAS_RATIO_LOW) / (ALIAS_RATIO_HIGH - ALIAS_RATIO_LOW));
}

const MAX_UINT64_FLOAT = 2 ** 64;

/** The zero value of a Go type. */
export function zeroOf(t: GoType): Slot {
  switch (t.k) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'uint':
      return 0n;
    case 'struct':
      return new Map<string, Slot>(t.fields.map((f) => [f.key, zeroOf(f.type)]));
    case 'iface':
      return null;
    default:
      return undefined; // nil slice, nil map, zero TextUnmarshaler value
  }
}

/** Short tag of a node as go-yaml's `Node.ShortTag()` reports it. */
function shortTagOf(n: YNode): string {
  return n.kind === 'alias' && n.alias ? shortTagOf(n.alias) : n.tag;
}

function isMergeKey(n: YNode): boolean {
  return n.kind === 'scalar' && n.value === '<<' && n.tag === TAG.merge;
}

/** One run of go-yaml's decoder with KnownFields(true). */
export class GoDecoder {
  private readonly terrors: string[] = [];
  private decodeCount = 0;
  private aliasCount = 0;
  private aliasDepth = 0;
  private readonly activeAliases = new Set<YNode>();
  private mergedFields: Set<string> | undefined;
  private depth = 0;

  constructor(private readonly limits: DecodeLimits = DEFAULT_LIMITS) {}

  /** Decodes `root` into a value of type `t`; throws DecodeAbort with go-yaml style text on failure. */
  decode(root: YNode, t: GoType): Slot {
    const { value } = this.unmarshal(root, t, zeroOf(t), '');
    if (this.terrors.length > 0) throw new DecodeAbort(this.typeErrorMessage());
    return value;
  }

  private typeErrorMessage(): string {
    return `yaml: unmarshal errors:\n  ${this.terrors.join('\n  ')}`;
  }

  private addError(text: string): void {
    this.terrors.push(text);
    if (this.terrors.length >= this.limits.maxErrors) {
      throw new DecodeAbort(`${this.typeErrorMessage()}\n  (further errors not reported)`);
    }
  }

  private abort(line: number, text: string, path: string): never {
    throw new DecodeAbort(`yaml: line ${line}: ${text}${pathSuffix(path)}`);
  }

  /** go-yaml `d.terror`. */
  private terror(n: YNode, tag: string, t: GoType, path: string): void {
    const effective = n.tag !== '' ? n.tag : tag;
    let value = '';
    if (effective !== TAG.seq && effective !== TAG.map) {
      const bytes = Buffer.from(n.value, 'utf8');
      value = bytes.length > 10 ? ` \`${bytes.subarray(0, 7).toString('utf8')}...\`` : ` \`${n.value}\``;
    }
    this.addError(`line ${n.line}: cannot unmarshal ${effective}${value} into ${t.name}${pathSuffix(path)}`);
  }

  private unmarshal(n: YNode, t: GoType, cur: Slot, path: string): Result {
    this.decodeCount++;
    if (this.aliasDepth > 0) this.aliasCount++;
    if (
      (this.aliasCount > 100 &&
        this.decodeCount > 1000 &&
        this.aliasCount / this.decodeCount > allowedAliasRatio(this.decodeCount)) ||
      this.decodeCount > this.limits.maxDecodeOps
    ) {
      this.abort(n.line, 'document contains excessive aliasing', '');
    }
    if (n.kind === 'alias') return this.alias(n, t, cur, path);
    if (n.kind === 'scalar') return this.scalar(n, t, cur, path);
    // Aliases can nest collections deeper than the source text does; keep the result bounded.
    if (this.depth >= this.limits.maxDepth)
      this.abort(n.line, `exceeded max depth of ${this.limits.maxDepth}`, path);
    this.depth++;
    try {
      return n.kind === 'mapping' ? this.mapping(n, t, cur, path) : this.sequence(n, t, cur, path);
    } finally {
      this.depth--;
    }
  }

  private alias(n: YNode, t: GoType, cur: Slot, path: string): Result {
    const target = n.alias;
    if (!target) this.abort(n.line, `unknown anchor '${n.value}' referenced`, path);
    if (this.activeAliases.has(n)) this.abort(n.line, `anchor '${n.value}' value contains itself`, path);
    this.activeAliases.add(n);
    this.aliasDepth++;
    try {
      return this.unmarshal(target, t, cur, path);
    } finally {
      this.aliasDepth--;
      this.activeAliases.delete(n);
    }
  }

  /** go-yaml `d.null`: only interfaces, pointers, maps and slices are set to nil. */
  private null(t: GoType, cur: Slot): Result {
    if (t.k === 'iface') return { good: true, value: null };
    if (t.k === 'slice' || t.k === 'map') return { good: true, value: undefined };
    return { good: false, value: cur };
  }

  private resolve(n: YNode, path: string): Resolved {
    if (n.tag === TAG.str) return { kind: 'str', tag: TAG.str, value: n.value };
    let r: Resolved;
    try {
      r = resolveScalar(n.tag, n.value);
    } catch (e) {
      if (e instanceof ResolveError) this.abort(n.line, e.message, path);
      throw e;
    }
    if (r.tag === TAG.binary && r.kind === 'str')
      return { kind: 'str', tag: TAG.binary, value: decodeBinary(n, path) };
    return r;
  }

  private scalar(n: YNode, t: GoType, cur: Slot, path: string): Result {
    const r = this.resolve(n, path);
    if (r.kind === 'null') return this.null(t, cur);
    const text = r.tag === TAG.binary ? (r.value as string) : n.value;
    switch (t.k) {
      case 'string':
        return { good: true, value: text };
      case 'text':
        return { good: true, value: this.unmarshalText(n, t, text, path) };
      case 'iface':
        return { good: true, value: toYamlScalar(r) };
      case 'uint': {
        const v = uintValue(r, t.max);
        if (v !== undefined) return { good: true, value: v };
        break;
      }
      case 'bool':
        if (r.kind === 'bool') return { good: true, value: r.value };
        if (r.kind === 'str') {
          const b = oldBoolValue(r.value);
          if (b !== undefined) return { good: true, value: b };
        }
        break;
      default:
        break;
    }
    this.terror(n, r.tag, t, path);
    return { good: false, value: cur };
  }

  /** encoding.TextUnmarshaler: its error aborts decoding (go-yaml `fail(err)`). */
  private unmarshalText(n: YNode, t: GoType & { k: 'text' }, text: string, path: string): Slot {
    try {
      return t.parse(text);
    } catch (e) {
      return this.abort(n.line, e instanceof Error ? e.message : String(e), path);
    }
  }

  private sequence(n: YNode, t: GoType, cur: Slot, path: string): Result {
    if (t.k !== 'slice' && t.k !== 'iface') {
      this.terror(n, TAG.seq, t, path);
      return { good: false, value: cur };
    }
    const elem = t.k === 'slice' ? t.elem : IFACE;
    const items: Slot[] = [];
    n.content.forEach((child, i) => {
      const r = this.unmarshal(child, elem, zeroOf(elem), `${path}[${i}]`);
      if (r.good) items.push(r.value);
    });
    return { good: true, value: items };
  }

  /**
   * go-yaml rejects repeated keys (same node kind and text) before decoding a mapping, reporting
   * every (earlier, later) pair in order; generated lazily so the error cap bounds the work.
   */
  private checkUniqueKeys(n: YNode): boolean {
    const groups = new Map<string, number[]>();
    const keys: YNode[] = [];
    for (let i = 0; i < n.content.length; i += 2) {
      const k = n.content[i]!;
      const id = `${k.kind}\0${k.value}`;
      const group = groups.get(id);
      if (group) group.push(keys.length);
      else groups.set(id, [keys.length]);
      keys.push(k);
    }
    if (groups.size === keys.length) return true;
    keys.forEach((first, i) => {
      const group = groups.get(`${first.kind}\0${first.value}`)!;
      for (const j of group) {
        if (j > i)
          this.addError(
            `line ${keys[j]!.line}: mapping key ${goQuote(keys[j]!.value)} already defined at line ${first.line}`,
          );
      }
    });
    return false;
  }

  private mapping(n: YNode, t: GoType, cur: Slot, path: string): Result {
    if (!this.checkUniqueKeys(n)) return { good: false, value: cur };
    if (t.k === 'struct') return this.mappingStruct(n, t, cur as StructValue, path);
    if (t.k === 'map') {
      const builder = cur instanceof YamlMapBuilder ? cur : new YamlMapBuilder();
      this.fillMap(n, t, builder, !(cur instanceof YamlMapBuilder), path);
      return { good: true, value: builder };
    }
    if (t.k === 'iface') {
      const mapType = isStringMap(n) ? STRING_MAP : GENERAL_MAP;
      const builder = new YamlMapBuilder();
      this.fillMap(n, mapType, builder, true, path);
      return { good: true, value: builder.build() };
    }
    this.terror(n, TAG.map, t, path);
    return { good: false, value: cur };
  }

  private fillMap(
    n: YNode,
    t: GoType & { k: 'map' },
    builder: YamlMapBuilder,
    isNew: boolean,
    path: string,
  ): void {
    const mergedFields = this.mergedFields;
    this.mergedFields = undefined;
    let mergeNode: YNode | undefined;
    const keyType = t.stringKeys ? STRING : IFACE;
    for (let i = 0; i < n.content.length; i += 2) {
      const kn = n.content[i]!;
      const vn = n.content[i + 1]!;
      if (isMergeKey(kn)) {
        mergeNode = vn;
        continue;
      }
      const kr = this.unmarshal(kn, keyType, zeroOf(keyType), path);
      if (!kr.good) continue;
      const key = kr.value as YamlValue;
      if (!isYamlScalar(key)) this.abort(kn.line, `invalid map key: ${describeKey(key)}`, path);
      const id = keyIdentity(key);
      if (mergedFields && id !== undefined) {
        if (mergedFields.has(id)) continue;
        mergedFields.add(id);
      }
      const childPath = `${path}${path === '' ? '' : '.'}${String(typeof key === 'string' ? key : describeKey(key))}`;
      const vr = this.unmarshal(vn, IFACE, null, childPath);
      if (vr.good || (shortTagOf(vn) === TAG.null && (isNew || !builder.has(key)))) {
        builder.set(key, vr.value as YamlValue);
      }
    }
    this.mergedFields = mergedFields;
    if (mergeNode) this.merge(n, mergeNode, t, builder, path);
  }

  private mappingStruct(n: YNode, t: GoType & { k: 'struct' }, record: StructValue, path: string): Result {
    const mergedFields = this.mergedFields;
    this.mergedFields = undefined;
    let mergeNode: YNode | undefined;
    const done = new Set<string>();
    for (let i = 0; i < n.content.length; i += 2) {
      const kn = n.content[i]!;
      const vn = n.content[i + 1]!;
      if (isMergeKey(kn)) {
        mergeNode = vn;
        continue;
      }
      const kr = this.unmarshal(kn, STRING, '', path);
      if (!kr.good) continue;
      const name = kr.value as string;
      if (mergedFields) {
        if (mergedFields.has(`s:${name}`)) continue;
        mergedFields.add(`s:${name}`);
      }
      const field = t.fields.find((f) => f.key === name);
      if (!field) {
        this.addError(`line ${kn.line}: field ${name} not found in type ${t.name}`);
        continue;
      }
      if (done.has(name)) {
        this.addError(`line ${kn.line}: field ${name} already set in type ${t.name}`);
        continue;
      }
      done.add(name);
      const r = this.unmarshal(vn, field.type, record.get(name), path === '' ? name : `${path}.${name}`);
      record.set(name, r.value);
    }
    this.mergedFields = mergedFields;
    if (mergeNode) this.merge(n, mergeNode, t, record, path);
    return { good: true, value: record };
  }

  /** go-yaml `d.merge`: merge sources fill only keys the mapping itself does not set. */
  private merge(parent: YNode, merge: YNode, t: GoType, out: Slot, path: string): void {
    const saved = this.mergedFields;
    if (!saved) {
      const fields = new Set<string>();
      for (let i = 0; i < parent.content.length; i += 2) {
        const r = this.unmarshal(parent.content[i]!, IFACE, null, path);
        if (!r.good) continue;
        const v = r.value as YamlValue;
        const id = isYamlScalar(v) ? keyIdentity(v) : undefined;
        if (id !== undefined) fields.add(id);
      }
      this.mergedFields = fields;
    }
    const wantMap = (): never =>
      this.abort(merge.line, 'map merge requires map or sequence of maps as the value', path);
    const target = (m: YNode): YNode | undefined => (m.kind === 'alias' ? m.alias : m);
    if (merge.kind === 'mapping') {
      this.unmarshal(merge, t, out, path);
    } else if (merge.kind === 'alias') {
      if (target(merge)?.kind !== 'mapping') wantMap();
      this.unmarshal(merge, t, out, path);
    } else if (merge.kind === 'sequence') {
      for (const item of merge.content) {
        if (target(item)?.kind !== 'mapping') wantMap();
        this.unmarshal(item, t, out, path);
      }
    } else {
      wantMap();
    }
    this.mergedFields = saved;
  }
}

function pathSuffix(path: string): string {
  return path === '' ? '' : ` (field ${path})`;
}

/** go-yaml's `isStringMap`: every key is a string (or a merge key). */
function isStringMap(n: YNode): boolean {
  for (let i = 0; i < n.content.length; i += 2) {
    const tag = shortTagOf(n.content[i]!);
    if (tag !== TAG.str && tag !== TAG.merge) return false;
  }
  return true;
}

function isYamlScalar(v: YamlValue): v is YamlScalar {
  return !Array.isArray(v) && !(typeof v === 'object' && v !== null && 'kind' in v && v.kind === 'map');
}

function describeKey(v: YamlValue): string {
  if (Array.isArray(v)) return '[]interface {}{…}';
  if (v === null) return '<nil>';
  if (typeof v === 'object' && 'kind' in v) {
    if (v.kind === 'map') return 'map{…}';
    if (v.kind === 'timestamp') return v.text;
    return String(v.value);
  }
  return String(v);
}

/** A resolved scalar as the Go value stored in an `interface{}`. */
function toYamlScalar(r: Resolved): YamlScalar {
  switch (r.kind) {
    case 'null':
      return null;
    case 'bool':
      return r.value;
    case 'int':
      return { kind: 'int', value: r.value };
    case 'float':
      return { kind: 'float', value: r.value };
    case 'timestamp':
      return { kind: 'timestamp', text: formatRfc3339Nano(r.value) };
    case 'str':
      return r.value;
  }
}

/** go-yaml's numeric conversions into an unsigned integer type of maximum `max`. */
function uintValue(r: Resolved, max: bigint): bigint | undefined {
  if (r.kind === 'int') return r.value >= 0n && r.value <= max ? r.value : undefined;
  if (r.kind === 'float') {
    // Go converts with uint64(f): truncation toward zero; out-of-range conversions are rejected here.
    if (!(r.value < MAX_UINT64_FLOAT) || r.value <= -1) return undefined;
    const v = BigInt(Math.trunc(r.value));
    return v <= max ? v : undefined;
  }
  return undefined;
}

function decodeBinary(n: YNode, path: string): string {
  const compact = n.value.replace(/[\s]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    throw new DecodeAbort(
      `yaml: line ${n.line}: !!binary value contains invalid base64 data${pathSuffix(path)}`,
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(compact, 'base64'));
  } catch {
    // go-yaml would keep the raw bytes and re-emit them as !!binary; strings here must be text.
    throw new DecodeAbort(`yaml: line ${n.line}: !!binary value is not UTF-8 text${pathSuffix(path)}`);
  }
}
