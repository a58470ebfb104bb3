/**
 * go-yaml v3 `resolve()`: how a plain scalar's text maps to a YAML type. Used twice: by the decoder
 * (plain scalars in overlay options become ints, floats, …) and by the emitter (a string that would
 * resolve to anything but !!str when written plain must be quoted).
 */
import { parseGoDecimalFloat, parseGoInteger, parseGoIntegerInBase, YAML_STYLE_FLOAT } from './strconv.js';
import { parseGoTimestamp, type GoTime } from './timestamp.js';

/** Short tags as go-yaml spells them. */
export const TAG = {
  null: '!!null',
  bool: '!!bool',
  str: '!!str',
  int: '!!int',
  float: '!!float',
  timestamp: '!!timestamp',
  seq: '!!seq',
  map: '!!map',
  binary: '!!binary',
  merge: '!!merge',
} as const;

/** A resolved scalar value, in the Go type go-yaml would produce; `tag` is the resolved short tag. */
export type Resolved =
  | { readonly kind: 'null'; readonly tag: string; readonly value: null }
  | { readonly kind: 'bool'; readonly tag: string; readonly value: boolean }
  | { readonly kind: 'int'; readonly tag: string; readonly value: bigint; readonly unsigned: boolean }
  | { readonly kind: 'float'; readonly tag: string; readonly value: number }
  | { readonly kind: 'timestamp'; readonly tag: string; readonly value: GoTime }
  | { readonly kind: 'str'; readonly tag: string; readonly value: string };

const LONG_PREFIX = 'tag:yaml.org,2002:';

/** go-yaml `shortTag`: `tag:yaml.org,2002:x` → `!!x`. */
export function shortTag(tag: string): string {
  return tag.startsWith(LONG_PREFIX) ? `!!${tag.slice(LONG_PREFIX.length)}` : tag;
}

const MAP: ReadonlyMap<string, Resolved> = new Map<string, Resolved>([
  ...entries(['true', 'True', 'TRUE'], { kind: 'bool', tag: TAG.bool, value: true }),
  ...entries(['false', 'False', 'FALSE'], { kind: 'bool', tag: TAG.bool, value: false }),
  ...entries(['', '~', 'null', 'Null', 'NULL'], { kind: 'null', tag: TAG.null, value: null }),
  ...entries(['.nan', '.NaN', '.NAN'], { kind: 'float', tag: TAG.float, value: NaN }),
  ...entries(['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'], {
    kind: 'float',
    tag: TAG.float,
    value: Infinity,
  }),
  ...entries(['-.inf', '-.Inf', '-.INF'], { kind: 'float', tag: TAG.float, value: -Infinity }),
  ['<<', { kind: 'str', tag: TAG.merge, value: '<<' }],
]);

function entries(words: string[], r: Resolved): [string, Resolved][] {
  return words.map((w) => [w, r]);
}

/** The resolver's first-character hint table. */
function hint(s: string): 'S' | 'D' | 'M' | '.' | 'N' | undefined {
  if (s === '') return 'N';
  const c = s[0]!;
  if (c === '+' || c === '-') return 'S';
  if (c >= '0' && c <= '9') return 'D';
  if ('yYnNtTfFoO~'.includes(c)) return 'M';
  if (c === '.') return '.';
  return undefined;
}

/** Tags the resolver knows how to check; any other explicit tag passes the text through unchanged. */
function resolvable(tag: string): boolean {
  return ['', TAG.str, TAG.bool, TAG.int, TAG.float, TAG.null, TAG.timestamp].includes(tag);
}

/** Thrown when an explicitly tagged scalar does not have the tagged type (`!!int abc`). */
export class ResolveError extends Error {}

/**
 * go-yaml `resolve(tag, in)`. `tag` is "" for an untagged plain scalar or a short tag. Throws
 * ResolveError with go-yaml's text when an explicit tag contradicts the value.
 */
export function resolveScalar(tag: string, text: string): Resolved {
  if (!resolvable(tag)) return { kind: 'str', tag, value: text };
  const r = resolveRaw(tag, text);
  if (tag === '' || tag === r.tag || tag === TAG.str) return r;
  // An !!int under an explicit !!float tag becomes a float (go-yaml converts int/int64, not uint64).
  if (tag === TAG.float && r.kind === 'int' && !r.unsigned)
    return { kind: 'float', tag: TAG.float, value: Number(r.value) };
  throw new ResolveError(`cannot decode ${r.tag} \`${text}\` as a ${tag}`);
}

function resolveRaw(tag: string, text: string): Resolved {
  const h = hint(text);
  if (h !== undefined && tag !== TAG.str) {
    const known = MAP.get(text);
    if (known) return known;
    if (h === '.') {
      const f = parseGoDecimalFloat(text);
      if (f !== undefined) return { kind: 'float', tag: TAG.float, value: f };
    } else if (h === 'D' || h === 'S') {
      if (tag === '' || tag === TAG.timestamp) {
        const t = parseGoTimestamp(text);
        if (t) return { kind: 'timestamp', tag: TAG.timestamp, value: t };
      }
      const plain = text.replaceAll('_', '');
      const i = parseGoInteger(plain);
      if (i) return { kind: 'int', tag: TAG.int, value: i.value, unsigned: i.unsigned };
      if (YAML_STYLE_FLOAT.test(plain)) {
        const f = Number(plain);
        if (Number.isFinite(f)) return { kind: 'float', tag: TAG.float, value: f };
      }
      // go-yaml's own 0b/0o branches parse the rest with an explicit base, which allows a sign (0b-1).
      for (const [prefix, base] of [
        ['0b', 2],
        ['0o', 8],
      ] as const) {
        let r: { value: bigint; unsigned: boolean } | undefined;
        if (plain.startsWith(prefix)) r = parseGoIntegerInBase(plain.slice(2), base);
        else if (plain.startsWith(`-${prefix}`)) r = parseGoIntegerInBase(`-${plain.slice(3)}`, base);
        if (r) return { kind: 'int', tag: TAG.int, value: r.value, unsigned: r.unsigned };
      }
    }
  }
  return { kind: 'str', tag: TAG.str, value: text };
}

/** True when go-yaml would resolve `s`, written plain and untagged, to !!str. */
export function resolvesToString(s: string): boolean {
  return resolveRaw('', s).tag === TAG.str;
}

/** YAML 1.1 base-60 float (`12:30`), which go-yaml v3 quotes for YAML 1.1 readers. */
export function isBase60Float(s: string): boolean {
  if (s === '') return false;
  const c = s[0]!;
  if (!(c === '+' || c === '-' || (c >= '0' && c <= '9')) || !s.includes(':')) return false;
  return /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/.test(s);
}

/** YAML 1.1 boolean word (`yes`, `Off`, `y`, …), which go-yaml v3 quotes for YAML 1.1 readers. */
export function isOldBool(s: string): boolean {
  return OLD_BOOLS.has(s);
}

const OLD_BOOLS = new Set([
  'y',
  'Y',
  'yes',
  'Yes',
  'YES',
  'on',
  'On',
  'ON',
  'n',
  'N',
  'no',
  'No',
  'NO',
  'off',
  'Off',
  'OFF',
]);

/** Words a typed bool field accepts besides true/false (go-yaml's YAML 1.1 compatibility). */
export function oldBoolValue(s: string): boolean | undefined {
  if (['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON'].includes(s)) return true;
  if (['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF'].includes(s)) return false;
  return undefined;
}
