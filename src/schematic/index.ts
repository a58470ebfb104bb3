/**
 * Public API of the schematic model: parse, canonicalise, identify.
 */
import { canonicalYaml } from './canonical.js';
import { schematicId } from './id.js';
import { parseSchematic } from './parse.js';
import type { Schematic, SchematicId } from './types.js';

export { canonicalYaml, schematicToGo } from './canonical.js';
export { isSchematicId, schematicId } from './id.js';
export { parseSchematic } from './parse.js';
export type {
  Bootloader,
  Customization,
  MetaValue,
  Schematic,
  SchematicId,
  YamlMap,
  YamlScalar,
  YamlValue,
} from './types.js';
export { yamlMapToGo, yamlValueToGo } from './yaml-value.js';

/** A parsed schematic with its canonical bytes and ID. */
export interface CreatedSchematic {
  readonly schematic: Schematic;
  readonly canonical: string;
  readonly id: SchematicId;
}

/** Parses `input`, canonicalises it and computes its ID (SCHEMATIC_INVALID on bad input). */
export function createSchematic(input: string | Uint8Array): CreatedSchematic {
  const schematic = parseSchematic(input);
  const canonical = canonicalYaml(schematic);
  return { schematic, canonical, id: schematicId(canonical) };
}
