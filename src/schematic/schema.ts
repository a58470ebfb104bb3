/**
 * The Go types of image-factory's `pkg/schematic` (struct order = canonical field order), as the
 * decoder sees them. Type names appear verbatim in error messages.
 */
import { BOOL, sliceOf, STRING, STRING_MAP, struct, UINT, UINT8, type GoType } from './go-types.js';
import type { Bootloader } from './types.js';

const BOOTLOADERS: readonly string[] = ['none', 'dual-boot', 'sd-boot', 'grub'];

/**
 * Talos `imageropts.BootloaderKind` UnmarshalText (enumer): exact or lower-cased name; `none` is the
 * zero value (returned as undefined). `auto` is not a value of the enum.
 */
export function parseBootloader(text: string): Bootloader | undefined {
  const name = BOOTLOADERS.includes(text) ? text : text.toLowerCase();
  if (!BOOTLOADERS.includes(name)) throw new Error(`${text} does not belong to BootloaderKind values`);
  return name === 'none' ? undefined : (name as Bootloader);
}

const BOOTLOADER: GoType = { k: 'text', name: 'imageropts.BootloaderKind', parse: parseBootloader };

const META_VALUE = struct('schematic.MetaValue', [
  { key: 'key', type: UINT8 },
  { key: 'value', type: STRING },
]);

const CUSTOMIZATION = struct('schematic.Customization', [
  { key: 'embeddedMachineConfiguration', type: STRING },
  { key: 'extraKernelArgs', type: sliceOf(STRING) },
  { key: 'meta', type: sliceOf(META_VALUE) },
  {
    key: 'systemExtensions',
    type: struct('schematic.SystemExtensions', [{ key: 'officialExtensions', type: sliceOf(STRING) }]),
  },
  { key: 'bootloader', type: BOOTLOADER },
  {
    key: 'secureboot',
    type: struct('schematic.SecureBootCustomization', [
      { key: 'enrollKeys', type: STRING },
      { key: 'includeWellKnownCertificates', type: BOOL },
    ]),
  },
  { key: 'diskImage', type: struct('schematic.DiskImageCustomization', [{ key: 'sectorSize', type: UINT }]) },
]);

/** `schematic.Schematic`. */
export const SCHEMATIC_TYPE: GoType = struct('schematic.Schematic', [
  { key: 'owner', type: STRING },
  {
    key: 'overlay',
    type: struct('schematic.Overlay', [
      { key: 'image', type: STRING },
      { key: 'name', type: STRING },
      { key: 'options', type: STRING_MAP },
    ]),
  },
  { key: 'customization', type: CUSTOMIZATION },
]);
