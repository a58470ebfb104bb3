/**
 * Descriptors of the Go types a schematic decodes into. The decoder follows go-yaml v3's rules per
 * kind, and error texts quote the Go type names (`schematic.Customization`, `uint8`, …).
 */

/** A Go type as far as go-yaml's decoder cares. */
export type GoType =
  | { readonly k: 'string'; readonly name: 'string' }
  | { readonly k: 'bool'; readonly name: 'bool' }
  | { readonly k: 'uint'; readonly name: string; readonly max: bigint }
  /** A type implementing encoding.TextUnmarshaler; `parse` throws Error(message) on bad text. */
  | { readonly k: 'text'; readonly name: string; readonly parse: (text: string) => string | undefined }
  | { readonly k: 'slice'; readonly name: string; readonly elem: GoType }
  | { readonly k: 'struct'; readonly name: string; readonly fields: readonly GoStructField[] }
  /** `map[string]any` (keys decoded as strings) or `map[any]any` (keys decoded as values). */
  | { readonly k: 'map'; readonly name: string; readonly stringKeys: boolean }
  | { readonly k: 'iface'; readonly name: 'interface {}' };

/** A struct field: its YAML key and type. */
export interface GoStructField {
  readonly key: string;
  readonly type: GoType;
}

/** Go `string`. */
export const STRING: GoType = { k: 'string', name: 'string' };
/** Go `bool`. */
export const BOOL: GoType = { k: 'bool', name: 'bool' };
/** Go `interface{}`. */
export const IFACE: GoType = { k: 'iface', name: 'interface {}' };
/** Go `map[string]interface{}`. */
export const STRING_MAP = {
  k: 'map',
  name: 'map[string]interface {}',
  stringKeys: true,
} as const satisfies GoType;
/** Go `map[interface{}]interface{}`. */
export const GENERAL_MAP = {
  k: 'map',
  name: 'map[interface {}]interface {}',
  stringKeys: false,
} as const satisfies GoType;
/** Go `uint8`. */
export const UINT8: GoType = { k: 'uint', name: 'uint8', max: 255n };
/** Go `uint` (64-bit). */
export const UINT: GoType = { k: 'uint', name: 'uint', max: 2n ** 64n - 1n };

/** Go `[]elem`. */
export function sliceOf(elem: GoType): GoType {
  return { k: 'slice', name: `[]${elem.name}`, elem };
}

/** A Go struct type. */
export function struct(name: string, fields: readonly GoStructField[]): GoType {
  return { k: 'struct', name, fields };
}
