/**
 * Secure Boot key enrollment on boot media (ISO and disk images; image-factory §2.5, talos-imager
 * §4.4): the schematic's `secureboot.enrollKeys` (default `if-safe` with Secure Boot, `off`
 * otherwise) and the PK/KEK/db `.auth` files, with Microsoft's certificates added to KEK and db
 * when `includeWellKnownCertificates` asks for them.
 */
import type { SecureBootEnrollMode } from '../builders/disk/esp.js';
import { FactoryError } from '../errors.js';
import type { Schematic } from '../schematic/types.js';
import { enrollmentFiles, type SecureBootVariable } from '../secureboot/efi-vars.js';
import type { SecureBootMaterial } from '../secureboot/material.js';
import { loadWellKnownCertificates } from '../secureboot/well-known-certs.js';

const MODES: readonly SecureBootEnrollMode[] = ['off', 'manual', 'if-safe', 'force'];

/** The enroll mode for a medium (400 for a value systemd-boot does not know). */
export function enrollMode(schematic: Schematic, secureBoot: boolean): SecureBootEnrollMode {
  const given = schematic.customization.secureboot?.enrollKeys;
  if (given === undefined || given === '') return secureBoot ? 'if-safe' : 'off';
  if (!(MODES as readonly string[]).includes(given)) {
    throw new FactoryError(
      'PROFILE_INVALID',
      `error enhancing profile from schematic: invalid secureboot enrollKeys value "${given}": must be one of ${MODES.join(', ')}`,
    );
  }
  return given as SecureBootEnrollMode;
}

/** `PK.auth`, `KEK.auth`, `db.auth` signed with the factory key, timestamped `epoch`. */
export async function enrollmentAuthFiles(
  material: SecureBootMaterial,
  schematic: Schematic,
  epoch: number,
): Promise<Record<SecureBootVariable, Buffer>> {
  const wellKnown = schematic.customization.secureboot?.includeWellKnownCertificates
    ? await loadWellKnownCertificates()
    : undefined;
  return enrollmentFiles({
    signer: material.signer,
    timestamp: new Date(epoch * 1000),
    ...(wellKnown ? { extraKek: wellKnown.kek, extraDb: wellKnown.db } : {}),
  });
}
