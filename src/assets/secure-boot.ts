/** Secure Boot as the asset kinds see it: the loaded material, or the one 400 when it is off. */
import { FactoryError } from '../errors.js';
import type { SecureBootMaterial } from '../secureboot/material.js';
import type { AssetSettings } from './asset-kind.js';

/** The factory's Secure Boot material; a `-secureboot` request without it is the user's 400. */
export function requireSecureBoot(settings: AssetSettings): SecureBootMaterial {
  if (!settings.secureBoot) {
    throw new FactoryError(
      'SECUREBOOT_DISABLED',
      'error enhancing profile from schematic: secure boot is disabled (this factory has no Secure Boot signing key configured)',
    );
  }
  return settings.secureBoot;
}
