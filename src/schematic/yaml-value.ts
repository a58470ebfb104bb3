/**
 * Converts free-form YAML values (overlay options) into the emitter's Go value tree.
 */
import { go, type GoNode } from './goyaml/node.js';
import type { YamlMap, YamlValue } from './types.js';

/** The Go value go-yaml would hold for `v` after decoding it into `any`. */
export function yamlValueToGo(v: YamlValue): GoNode {
  if (v === null) return go.null();
  if (typeof v === 'boolean') return go.bool(v);
  if (typeof v === 'string') return go.str(v);
  if (Array.isArray(v)) return go.seq(v.map(yamlValueToGo));
  const o = v as Exclude<YamlValue, null | boolean | string | readonly YamlValue[]>;
  switch (o.kind) {
    case 'int':
      return go.int(o.value);
    case 'float':
      return go.float(o.value);
    case 'timestamp':
      return { kind: 'time', text: o.text };
    case 'map':
      return yamlMapToGo(o);
  }
}

/** A YamlMap as a Go map (sorted by the emitter). */
export function yamlMapToGo(m: YamlMap): GoNode {
  return go.map(m.entries.map(([k, v]) => [yamlValueToGo(k), yamlValueToGo(v)] as const));
}
