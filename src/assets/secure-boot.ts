/**
 * Whether Secure Boot assets can be made: they need signing keys, which this factory does not
 * have yet. Every Secure Boot request (`cmdline-*-secureboot`, `-secureboot` PXE scripts, UKIs)
 * passes through {@link requireSecureBoot}; the Secure Boot work connects a provider here.
 */
import { FactoryError } from '../errors.js';
import type { AssetRequest } from '../profile/build-request.js';

/** The Secure Boot signing set-up (connected once Secure Boot signing exists). */
export interface SecureBootProvider {
  /** Shown in logs: where the keys come from. */
  readonly description: string;
}

/** Throws SECUREBOOT_DISABLED (400) for a Secure Boot request when no provider is configured. */
export function requireSecureBoot(provider: SecureBootProvider | undefined, request: AssetRequest): void {
  if (request.secureBoot && provider === undefined) {
    throw new FactoryError(
      'SECUREBOOT_DISABLED',
      'secure boot is disabled: this factory has no signing keys configured',
    );
  }
}
