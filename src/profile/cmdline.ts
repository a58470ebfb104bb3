/**
 * Builds the kernel cmdline of an asset exactly as the HEAD Talos imager does for a target
 * version (talos-imager §3.2 build order, §3.3 default args, §3.4 platform args; errata §1).
 * Inputs are the schematic's values; which of them apply to the asset kind is decided here from
 * the applicability table (image-factory §3.4), so callers cannot get that wrong.
 */
import { FactoryError } from '../errors.js';
import type { MetaValue } from '../schematic/types.js';
import { fieldApplies, metaOnCmdline } from './applicability.js';
import type { Arch, AssetKind } from './asset-request.js';
import { goQuote } from './go-quote.js';
import { KernelCmdline } from './kernel-cmdline.js';
import { encodeMetaValues, KERNEL_PARAM_ENVIRONMENT, META_VALUES_ENV_VAR } from './meta-env.js';
import { findPlatform, platformKernelArgs } from './platforms.js';
import { deriveQuirks, gateOpen, type QuirkGated } from './quirks.js';
import { parseTalosVersion, type TalosVersion } from './version.js';

/** One default/secure-boot arg and the quirk that gates it. */
export interface DefaultArgRow extends QuirkGated {
  readonly arg: string;
}

/** Talos `kernel.DefaultArgs` at HEAD, in order (`slab_nomerge=` prints as a bare key). */
export const DEFAULT_ARGS: readonly DefaultArgRow[] = [
  { arg: 'init_on_alloc=1', unless: 'dropInitOnAlloc' },
  { arg: 'slab_nomerge=' },
  { arg: 'pti=on' },
  { arg: 'consoleblank=0' },
  // From 1.14 this is an AWS platform arg instead (platforms.ts).
  { arg: 'nvme_core.io_timeout=4294967295', unless: 'nvmeIoTimeoutAWSOnly' },
  { arg: 'printk.devkmsg=on' },
  { arg: 'ima_template=ima-ng', when: 'supportsIMA' },
  { arg: 'ima_appraise=fix', when: 'supportsIMA' },
  { arg: 'ima_hash=sha512', when: 'supportsIMA' },
  { arg: 'selinux=1', when: 'supportsSELinux' },
  { arg: 'module.sig_enforce=1', when: 'moduleSigEnforce' },
  { arg: 'proc_mem.force_override=never', when: 'procMemOverrideNever' },
];

/** Talos `kernel.SecureBootArgs` at HEAD. */
export const SECURE_BOOT_ARGS: readonly DefaultArgRow[] = [
  { arg: 'lockdown=confidentiality', when: 'forceLockdownConfidentiality' },
];

/** User args may replace these keys wholesale instead of adding values (imager step 8). */
export const OVERWRITE_KEYS: readonly string[] = ['console', 'talos.platform'];

/** Inputs of {@link buildCmdline}. */
export interface CmdlineInput {
  /** Platform name as in the path (`packet` allowed; printed as `equinixMetal`). */
  readonly platform: string;
  readonly arch: Arch;
  /** Target Talos version (parsed, or text to parse strictly). */
  readonly version: TalosVersion | string;
  readonly kind: AssetKind;
  readonly secureBoot: boolean;
  /** Schematic `customization.meta`. */
  readonly meta?: readonly MetaValue[];
  /** Schematic `customization.extraKernelArgs` (plus any overlay-profile extra args, merged first). */
  readonly extraArgs?: readonly string[];
  /** `kernelArgs` reported by the overlay installer's `get-options` (imager step 4). */
  readonly overlayArgs?: readonly string[];
}

/** Renders the cmdline for an asset: the 8-step imager build order. */
export function buildCmdline(input: CmdlineInput): string {
  const version = typeof input.version === 'string' ? parseTalosVersion(input.version) : input.version;
  const quirks = deriveQuirks(version);
  const platform = findPlatform(input.platform);
  if (platform === undefined) {
    throw new FactoryError(
      'PROFILE_INVALID',
      `unknown platform ${goQuote(input.platform)}: no kernel args known`,
    );
  }
  const ctx = { secureBoot: input.secureBoot, quirks };
  const enabled = (rows: readonly DefaultArgRow[]): string[] =>
    rows.filter((row) => gateOpen(row, quirks)).map((row) => row.arg);

  const cmdline = new KernelCmdline();
  // 1. the platform name (its canonical name: `packet` says equinixMetal)
  cmdline.append('talos.platform', platform.talosName);
  // 2. the platform's args replace whole keys
  cmdline.setAll([platformKernelArgs(platform, input.arch, quirks)]);
  // 3. ISOs of Talos ≥ 1.8 stop when an installation is found
  if (quirks.supportsHaltIfInstalled && input.kind === 'iso') cmdline.append('talos.halt_if_installed', '1');
  // 4. overlay installer args replace whole keys (e.g. the SBC's serial console)
  if (input.overlayArgs && fieldApplies('overlay', input.kind, ctx)) cmdline.setAll(input.overlayArgs);
  // 5. defaults, then 6. secure-boot args, both appended
  cmdline.appendAll(enabled(DEFAULT_ARGS));
  if (input.secureBoot) cmdline.appendAll(enabled(SECURE_BOOT_ARGS));
  // 7. META for the installer, except where it is written to the META partition directly
  if (input.meta && input.meta.length > 0 && metaOnCmdline(input.kind, ctx)) {
    const encoded = encodeMetaValues(input.meta, quirks.supportsCompressedMeta);
    cmdline.append(KERNEL_PARAM_ENVIRONMENT, `${META_VALUES_ENV_VAR}=${encoded}`);
  }
  // 8. the user's args last so they win: `console`/`talos.platform` replaced, `-key` deletes
  if (input.extraArgs && fieldApplies('extraKernelArgs', input.kind, ctx)) {
    cmdline.appendAll(input.extraArgs, { overwrite: OVERWRITE_KEYS, deleteNegated: true });
  }
  return cmdline.toString();
}
