/**
 * Builds YamlMaps with Go map semantics: keys that are equal as Go values collapse (the later
 * value wins), NaN keys never collapse, +0 and -0 are one key.
 */
import type { YamlMap, YamlScalar, YamlValue } from './types.js';

/** A Go-equality identity for a map key (undefined for NaN, which equals nothing). */
export function keyIdentity(k: YamlScalar): string | undefined {
  if (k === null) return 'n:';
  if (typeof k === 'boolean') return `b:${k}`;
  if (typeof k === 'string') return `s:${k}`;
  if (k.kind === 'int') return `i:${k.value}`;
  if (k.kind === 'float') return Number.isNaN(k.value) ? undefined : `f:${k.value === 0 ? 0 : k.value}`;
  return `t:${k.text}`;
}

/** Accumulates map entries while decoding. */
export class YamlMapBuilder {
  private readonly index = new Map<string, number>();
  private readonly entries: [YamlScalar, YamlValue][] = [];

  /** True when a key equal to `k` is present. */
  has(k: YamlScalar): boolean {
    const id = keyIdentity(k);
    return id !== undefined && this.index.has(id);
  }

  /** Sets `k` to `v` (replacing an equal key). */
  set(k: YamlScalar, v: YamlValue): void {
    const id = keyIdentity(k);
    const at = id === undefined ? undefined : this.index.get(id);
    if (at !== undefined) {
      this.entries[at] = [k, v];
      return;
    }
    if (id !== undefined) this.index.set(id, this.entries.length);
    this.entries.push([k, v]);
  }

  /** Number of entries. */
  get size(): number {
    return this.entries.length;
  }

  /** The finished map. */
  build(): YamlMap {
    return { kind: 'map', entries: this.entries.map(([k, v]) => [k, v] as const) };
  }
}
