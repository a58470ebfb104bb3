/**
 * iPXE scripts for `/pxe/:schematic/:version/:path` (image-factory §4, HEAD templates with
 * `imgfree`). The caller builds the `cmdline-<path>` asset and passes its text in.
 *
 * Project extension `uefiInitrdArg`: adds `initrd=initramfs-<arch>.xz` to the kernel line. Under
 * UEFI, iPXE builds without the LoadFile2 initrd protocol (added to iPXE in 2023, ipxe/ipxe#895;
 * e.g. Debian's 2019 build used by our boot tests, many NIC ROMs) only hand the initrd to the
 * kernel's EFI stub when the cmdline names it; without it the kernel panics "Unable to mount root
 * fs" (toolchain §5.3). It is placed before the Talos args so a user ` -- ` cannot hide it.
 * The renderer's default is off (the script is then byte-identical to upstream, which clients and
 * upstream's own tests compare); the service turns it on by default (`pxe.uefiInitrdArg`) so one
 * script boots under BIOS and under every UEFI iPXE — BIOS ignores the argument. Operators whose
 * modern-iPXE U-Boot/arm64 setups trip over `initrd=` plus LoadFile2 (ipxe/ipxe#1433) turn it off.
 */
import type { AssetRequest } from './asset-request.js';
import { parseAssetPath } from './path.js';
import { joinUrlPath } from './url-join.js';

/** Inputs of {@link renderPxeScript}. */
export interface PxeScriptInput {
  /** External PXE URL (defaults to the external URL upstream); its path prefix is kept. */
  readonly baseUrl: string | URL;
  /** Schematic ID as it appeared in the request. */
  readonly schematicId: string;
  /** `v`-prefixed version tag as requested (always with `v` in generated URLs). */
  readonly versionTag: string;
  /** The parsed PXE path (`<platform>-<arch>[-secureboot]`, see {@link parsePxePath}). */
  readonly request: Pick<AssetRequest, 'platform' | 'arch' | 'secureBoot'>;
  /** Text of the `cmdline-<platform>-<arch>[-secureboot]` asset. */
  readonly cmdline: string;
  /** Add `initrd=initramfs-<arch>.xz` for old UEFI iPXE builds (renderer default false; see module doc). */
  readonly uefiInitrdArg?: boolean;
}

/** Parses a PXE `:path` the way upstream does: as the cmdline asset `cmdline-<path>`. */
export function parsePxePath(path: string): AssetRequest {
  return parseAssetPath(`cmdline-${path}`);
}

/** Renders the iPXE script (standard: kernel + initrd; secure boot: the signed UKI). */
export function renderPxeScript(input: PxeScriptInput): string {
  const { platform, arch, secureBoot } = input.request;
  const url = (file: string): string =>
    joinUrlPath(input.baseUrl, 'image', input.schematicId, input.versionTag, file);
  if (secureBoot) {
    // The UKI embeds its initrd, so the UEFI initrd arg never applies here.
    const uki = url(`${platform}-${arch}-secureboot-uki.efi`);
    return `#!ipxe\n\nimgfree\nkernel ${uki} ${input.cmdline}\nboot\n`;
  }
  const initramfs = `initramfs-${arch}.xz`;
  const kernelArgs = input.uefiInitrdArg ? `initrd=${initramfs} ${input.cmdline}` : input.cmdline;
  return `#!ipxe\n\nimgfree\nkernel ${url(`kernel-${arch}`)} ${kernelArgs}\ninitrd ${url(initramfs)}\nboot\n`;
}
