/**
 * Build-amplification rules for the extensions of one build: a schematic may list an extension
 * once (upstream stores a schematic naming one 1000 times, and its build then squashes it 1000
 * times), and at most `max` extensions. Checked when an asset is built, never at creation, so
 * every stored schematic keeps its ID.
 */
import { FactoryError } from '../errors.js';

/** Returns `names` unchanged, or throws EXTENSION_INVALID (400) naming the first repeated one or the cap. */
export function checkExtensionList(names: readonly string[], max: number): readonly string[] {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) {
      throw new FactoryError(
        'EXTENSION_INVALID',
        `error enhancing profile from schematic: extension "${name}" is listed more than once`,
      );
    }
    seen.add(name);
  }
  if (names.length > max) {
    throw new FactoryError(
      'EXTENSION_INVALID',
      `error enhancing profile from schematic: ${names.length} extensions requested, at most ${max} per build (build.maxExtensions)`,
    );
  }
  return names;
}
