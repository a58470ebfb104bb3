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

/**
 * The early refusal every asset frontend makes (cmdline, PXE scripts, status, images): a
 * `-secureboot` request to a factory without signing keys is the user's 400, before anything
 * is planned. `configured` is the factory's Secure Boot material (or anything standing for it).
 */
export function refuseSecureBootWithoutKeys(
  configured: unknown,
  request: { readonly secureBoot: boolean },
): void {
  if (request.secureBoot && configured === undefined) {
    throw new FactoryError(
      'SECUREBOOT_DISABLED',
      'error enhancing profile from schematic: secure boot is disabled (this factory has no Secure Boot signing key configured)',
    );
  }
}
