/**
 * The canonical schematic YAML (what the ID hashes): the Schematic struct marshalled by go-yaml v3
 * with image-factory's field order and omitempty tags.
 */
import { emitYaml, go, type GoNode } from './goyaml/index.js';
import type { Schematic } from './types.js';
import { yamlMapToGo } from './yaml-value.js';

const EMPTY_MAP: GoNode = go.map([]);

/** The schematic as the Go struct value `schematic.Schematic` (owner is always empty here). */
export function schematicToGo(s: Schematic): GoNode {
  const c = s.customization;
  const overlay = s.overlay
    ? go.struct([
        go.field('image', go.str(s.overlay.image)),
        go.field('name', go.str(s.overlay.name)),
        go.field('options', s.overlay.options ? yamlMapToGo(s.overlay.options) : EMPTY_MAP, true),
      ])
    : go.struct([]);
  const customization = go.struct([
    go.field('embeddedMachineConfiguration', go.str(c.embeddedMachineConfiguration ?? ''), true),
    go.field('extraKernelArgs', go.seq((c.extraKernelArgs ?? []).map(go.str)), true),
    go.field(
      'meta',
      go.seq(
        (c.meta ?? []).map((m) =>
          go.struct([go.field('key', go.int(m.key)), go.field('value', go.str(m.value))]),
        ),
      ),
      true,
    ),
    go.field(
      'systemExtensions',
      go.struct([
        go.field(
          'officialExtensions',
          go.seq((c.systemExtensions?.officialExtensions ?? []).map(go.str)),
          true,
        ),
      ]),
      true,
    ),
    go.field('bootloader', go.str(c.bootloader ?? ''), true),
    go.field(
      'secureboot',
      go.struct([
        go.field('enrollKeys', go.str(c.secureboot?.enrollKeys ?? ''), true),
        go.field(
          'includeWellKnownCertificates',
          go.bool(c.secureboot?.includeWellKnownCertificates ?? false),
          true,
        ),
      ]),
      true,
    ),
    go.field(
      'diskImage',
      go.struct([go.field('sectorSize', go.int(c.diskImage?.sectorSize ?? 0), true)]),
      true,
    ),
  ]);
  return go.struct([go.field('overlay', overlay, true), go.field('customization', customization)]);
}

/** Canonical YAML of a schematic (go-yaml v3 Marshal bytes). */
export function canonicalYaml(s: Schematic): string {
  return emitYaml(schematicToGo(s));
}
