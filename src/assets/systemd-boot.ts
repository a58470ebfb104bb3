/**
 * The release's systemd-boot for a medium: as shipped, or Authenticode-signed with the factory's
 * key for Secure Boot media. Signing takes milliseconds, so every consumer (ISO, disk image,
 * installer) signs its own copy in its work dir instead of caching one more asset; consumers put
 * the signing fingerprint and the pinned imager into their keys.
 */
import { join } from 'node:path';
import { FactoryError } from '../errors.js';
import type { ReleaseInputs } from '../release/release-source.js';
import { signPe } from '../secureboot/authenticode.js';
import type { SecureBootMaterial } from '../secureboot/material.js';

/** Path of systemd-boot for `inputs`' arch, signed into `workDir` when `secureBoot` is given. */
export async function systemdBootFor(
  inputs: ReleaseInputs,
  secureBoot: SecureBootMaterial | undefined,
  workDir: string,
  signal?: AbortSignal,
): Promise<string> {
  if (!inputs.systemdBoot) {
    throw new FactoryError(
      'UPSTREAM_UNAVAILABLE',
      `imager ${inputs.version} has no usr/install/${inputs.arch}/systemd-boot.efi`,
    );
  }
  if (!secureBoot) return inputs.systemdBoot;
  const out = join(workDir, `systemd-boot-${inputs.arch}.signed.efi`);
  await signPe(
    inputs.systemdBoot,
    out,
    secureBoot.signer,
    `systemd-boot.efi of ${inputs.version} ${inputs.arch}`,
    signal,
  );
  return out;
}
