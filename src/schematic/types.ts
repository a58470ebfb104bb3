/**
 * The schematic model (spec image-factory.md §2.1). Field order here is the canonical
 * serialization order; every optional field is omitted from the canonical YAML when empty.
 */

/** A scalar as go-yaml decodes it into `any`: nil, bool, string, int/uint64, float64, time.Time. */
export type YamlScalar =
  | null
  | boolean
  | string
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'float'; readonly value: number }
  /** A time.Time; `text` is its RFC3339Nano rendering (what Marshal writes back). */
  | { readonly kind: 'timestamp'; readonly text: string };

/** A free-form YAML value as go-yaml decodes it into `map[string]any` (overlay options). */
export type YamlValue = YamlScalar | readonly YamlValue[] | YamlMap;

/**
 * A YAML mapping (insertion order irrelevant: the emitter sorts naturally). Keys are strings except
 * in nested maps whose keys are not all strings, which go-yaml decodes as `map[any]any`.
 */
export interface YamlMap {
  readonly kind: 'map';
  readonly entries: readonly (readonly [YamlScalar, YamlValue])[];
}

/** Bootloader choice; `none` (the zero value) is represented by absence. */
export type Bootloader = 'dual-boot' | 'sd-boot' | 'grub';

/** One META key/value pair; key is 0–255. */
export interface MetaValue {
  readonly key: number;
  readonly value: string;
}

/** The `customization` section. */
export interface Customization {
  readonly embeddedMachineConfiguration?: string;
  readonly extraKernelArgs?: readonly string[];
  readonly meta?: readonly MetaValue[];
  readonly systemExtensions?: { readonly officialExtensions?: readonly string[] };
  readonly bootloader?: Bootloader;
  readonly secureboot?: { readonly enrollKeys?: string; readonly includeWellKnownCertificates?: boolean };
  readonly diskImage?: { readonly sectorSize?: number };
}

/** A parsed, immutable schematic. */
export interface Schematic {
  readonly overlay?: { readonly image: string; readonly name: string; readonly options?: YamlMap };
  readonly customization: Customization;
}

/** 64 lowercase hex characters: sha256 of the canonical YAML bytes. */
export type SchematicId = string;
