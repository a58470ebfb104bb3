/**
 * `parseSchematic`: request body → Schematic, accepting and rejecting exactly what image-factory's
 * `schematic.Unmarshal` (go-yaml v3 Decoder with KnownFields) accepts, plus the community-edition
 * `owner` check. Every rejection is a FactoryError SCHEMATIC_INVALID.
 */
import { FactoryError } from '../errors.js';
import { invalidSchematic } from './errors.js';
import { DecodeAbort, GoDecoder, type Slot, type StructValue } from './go-decoder.js';
import { readYamlInput } from './input.js';
import { SCHEMATIC_TYPE } from './schema.js';
import type { Bootloader, Customization, MetaValue, Schematic } from './types.js';
import { YamlMapBuilder } from './yaml-map.js';
import { parseFirstDocument } from './yaml-tree.js';

/** Parses and validates a schematic document (YAML or JSON; only the first YAML document counts). */
export function parseSchematic(input: string | Uint8Array): Schematic {
  let decoded: StructValue;
  try {
    const root = parseFirstDocument(readYamlInput(input));
    if (!root) throw invalidSchematic('EOF');
    decoded = new GoDecoder().decode(root, SCHEMATIC_TYPE) as StructValue;
  } catch (e) {
    if (e instanceof FactoryError) throw e;
    if (e instanceof DecodeAbort) throw invalidSchematic(e.message);
    // Anything else escaping the YAML library is still a consequence of this input.
    throw invalidSchematic(`yaml: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  if (decoded.get('owner') !== '')
    throw invalidSchematic('owner field is only supported in Enterprise edition');
  return toSchematic(decoded);
}

function sub(v: StructValue, key: string): StructValue {
  return v.get(key) as StructValue;
}

function str(v: StructValue, key: string): string {
  return v.get(key) as string;
}

function strings(v: StructValue, key: string): string[] {
  return (v.get(key) as string[] | undefined) ?? [];
}

/** Converts the decoded Go struct into the immutable model, dropping zero values (omitempty). */
function toSchematic(root: StructValue): Schematic {
  const overlay = sub(root, 'overlay');
  const options = overlay.get('options') as YamlMapBuilder | undefined;
  const schematic: { -readonly [K in keyof Schematic]: Schematic[K] } = {
    customization: toCustomization(sub(root, 'customization')),
  };
  const image = str(overlay, 'image');
  const name = str(overlay, 'name');
  if (image !== '' || name !== '' || (options && options.size > 0)) {
    schematic.overlay =
      options && options.size > 0 ? { image, name, options: options.build() } : { image, name };
  }
  return deepFreeze(schematic);
}

function toCustomization(c: StructValue): Customization {
  const out: { -readonly [K in keyof Customization]: Customization[K] } = {};
  const emc = str(c, 'embeddedMachineConfiguration');
  if (emc !== '') out.embeddedMachineConfiguration = emc;
  const args = strings(c, 'extraKernelArgs');
  if (args.length > 0) out.extraKernelArgs = args;
  const meta = (c.get('meta') as StructValue[] | undefined) ?? [];
  if (meta.length > 0) {
    out.meta = meta.map((m): MetaValue => ({ key: Number(m.get('key') as bigint), value: str(m, 'value') }));
  }
  const official = strings(sub(c, 'systemExtensions'), 'officialExtensions');
  if (official.length > 0) out.systemExtensions = { officialExtensions: official };
  const bootloader = c.get('bootloader') as Bootloader | undefined;
  if (bootloader !== undefined) out.bootloader = bootloader;
  const sb = sub(c, 'secureboot');
  const enrollKeys = str(sb, 'enrollKeys');
  const wellKnown = sb.get('includeWellKnownCertificates') as boolean;
  if (enrollKeys !== '' || wellKnown) {
    out.secureboot = {
      ...(enrollKeys !== '' ? { enrollKeys } : {}),
      ...(wellKnown ? { includeWellKnownCertificates: true } : {}),
    };
  }
  const sectorSize = sub(c, 'diskImage').get('sectorSize') as bigint;
  if (sectorSize !== 0n) {
    // The model stores a JS number; Go accepts any uint64, but sizes beyond 2^53 cannot be kept exactly.
    if (sectorSize > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw invalidSchematic(`customization.diskImage.sectorSize ${sectorSize} is too large`);
    }
    out.diskImage = { sectorSize: Number(sectorSize) };
  }
  return out;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const child of Object.values(v as Record<string, Slot>)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}
