/**
 * The emitter's input: a tree shaped like the Go values go-yaml marshals. Structs keep field order
 * (with `omitempty` applied by the emitter, Go style); maps are sorted by go-yaml's natural key order.
 */

/** A scalar Go value. `int` covers Go's int/int64/uint64 (uint64 only above the int64 range). */
export type GoScalar =
  | { readonly kind: 'null' }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  /** A time.Time, already rendered as RFC3339Nano. */
  | { readonly kind: 'time'; readonly text: string };

/** One struct field: YAML key, value, and whether the Go tag says `omitempty`. */
export interface GoField {
  readonly key: string;
  readonly value: GoNode;
  readonly omitEmpty?: boolean;
}

/** Any Go value the emitter can marshal. */
export type GoNode =
  | GoScalar
  | { readonly kind: 'seq'; readonly items: readonly GoNode[] }
  | { readonly kind: 'struct'; readonly fields: readonly GoField[] }
  | { readonly kind: 'map'; readonly entries: readonly (readonly [GoNode, GoNode])[] };

/** Builders, so callers write `go.str('x')` rather than object literals. */
export const go = {
  /** Go nil (marshalled as `null`). */
  null: (): GoNode => ({ kind: 'null' }),
  /** Go bool. */
  bool: (value: boolean): GoNode => ({ kind: 'bool', value }),
  /** Go integer of any width. */
  int: (value: bigint | number): GoNode => ({ kind: 'int', value: BigInt(value) }),
  /** Go float64. */
  float: (value: number): GoNode => ({ kind: 'float', value }),
  /** Go string. */
  str: (value: string): GoNode => ({ kind: 'string', value }),
  /** Go slice. */
  seq: (items: readonly GoNode[]): GoNode => ({ kind: 'seq', items }),
  /** Go struct; fields in declaration order. */
  struct: (fields: readonly GoField[]): GoNode => ({ kind: 'struct', fields }),
  /** Go map; entry order is irrelevant (the emitter sorts). */
  map: (entries: readonly (readonly [GoNode, GoNode])[]): GoNode => ({ kind: 'map', entries }),
  /** A struct field (`omitEmpty` mirrors the `,omitempty` tag option). */
  field: (key: string, value: GoNode, omitEmpty = false): GoField => ({ key, value, omitEmpty }),
};

/** Go yaml.v3 `isZero`: what `omitempty` drops. */
export function isZero(n: GoNode): boolean {
  switch (n.kind) {
    case 'null':
      return true;
    case 'bool':
      return !n.value;
    case 'int':
      return n.value === 0n;
    case 'float':
      return n.value === 0;
    case 'string':
      return n.value === '';
    case 'time':
      return n.text === '0001-01-01T00:00:00Z';
    case 'seq':
      return n.items.length === 0;
    case 'map':
      return n.entries.length === 0;
    case 'struct':
      return n.fields.every((f) => isZero(f.value));
  }
}
