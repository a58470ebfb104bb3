/**
 * The wizard flow: which steps a target visits, and the validation of each step's choice against
 * the release data (offered versions, platform table, catalogs, quirks). The page asked for is
 * shown only when every earlier step holds a valid choice; otherwise the first step that does not
 * is shown again, with a message when the user had submitted it.
 */
import type { Arch } from '../../profile/build-request.js';
import { findPlatform, PLATFORMS, type PlatformSpec } from '../../profile/platforms.js';
import { deriveQuirks, type Quirks } from '../../profile/quirks.js';
import { tryParseTalosVersion, versionAtLeast } from '../../profile/version.js';
import type { ExtensionEntry, OverlayEntry } from '../../release/catalog.js';
import {
  DocumentInputError,
  parseMetaLines,
  schematicDocument,
  splitKernelArgs,
  type DocumentInput,
} from './document.js';
import { STEPS, type StepName, type WizardState } from './state.js';

/** Release data the flow reads (the factory's ReleaseSource satisfies it). */
export interface WizardData {
  /** Offered versions, ascending, `v`-prefixed. */
  versions(): Promise<string[]>;
  extensionCatalog(versionTag: string): Promise<ExtensionEntry[]>;
  overlayCatalog(versionTag: string): Promise<OverlayEntry[]>;
}

/** What the user boots. */
export type Target = 'metal' | 'cloud' | 'sbc';

/** The targets, in the order shown. */
export const TARGETS: readonly { value: Target; label: string; hint: string }[] = [
  { value: 'metal', label: 'Bare metal', hint: 'ISO, disk image or PXE boot on your own hardware' },
  { value: 'cloud', label: 'Cloud or virtual machine', hint: 'AWS, Azure, GCP, VMware, OpenStack, …' },
  { value: 'sbc', label: 'Single-board computer', hint: 'Raspberry Pi, Rockchip, Allwinner, … (arm64)' },
];

/** Bootloader choices of the customization step (`auto` leaves the schematic field unset). */
export const BOOTLOADERS = ['auto', 'dual-boot', 'sd-boot', 'grub'] as const;

/** Extensions the wizard does not list (upstream hides it too: it is for Omni's bare-metal agent). */
const HIDDEN_EXTENSIONS = new Set(['siderolabs/metal-agent']);

/** Everything known once some steps are valid; later fields are set as the flow gets there. */
export interface FlowContext {
  readonly state: WizardState;
  readonly steps: readonly StepName[];
  /** All offered versions (descending) and the ones this target may use. */
  readonly versions: readonly string[];
  readonly targetVersions: readonly string[];
  /** Newest stable version of `targetVersions` (the preselected one). */
  readonly defaultVersion: string | undefined;
  /** Secure Boot signing is configured on this factory. */
  readonly secureBootConfigured: boolean;
  target?: Target;
  versionTag?: string;
  quirks?: Quirks;
  platform?: PlatformSpec;
  /** Cloud platforms offered for the version. */
  platforms?: readonly PlatformSpec[];
  overlays?: readonly OverlayEntry[];
  board?: OverlayEntry;
  arch?: Arch;
  /** Secure boot can be chosen for this platform and version, on this factory. */
  secureBootOffered?: boolean;
  /** Why it cannot, when it cannot (shown on the architecture step). */
  secureBootWhyNot?: string;
  secureBoot?: boolean;
  /** Listed catalog (sorted, hidden ones removed) and the chosen entries. */
  catalog?: readonly ExtensionEntry[];
  extensions?: readonly ExtensionEntry[];
  /** The bootloader field is offered (ISO honours it from Talos 1.12). */
  bootloaderOffered?: boolean;
  /** The schematic document of the final step. */
  document?: string;
}

/** The flow's answer: the step to render, with an error when a submitted choice was invalid. */
export interface FlowResult {
  readonly step: StepName;
  readonly error?: string;
  readonly context: FlowContext;
}

/** The steps a target visits. */
export function stepsFor(target: string): StepName[] {
  const skip: Record<string, readonly StepName[]> = {
    metal: ['platform', 'board'],
    cloud: ['board'],
    sbc: ['platform', 'arch'],
  };
  const skipped = skip[target] ?? ['board'];
  return STEPS.filter((s) => !skipped.includes(s));
}

function isStep(s: string): s is StepName {
  return (STEPS as readonly string[]).includes(s);
}

/** Newest version without a pre-release (else the newest). */
function newestStable(versions: readonly string[]): string | undefined {
  return versions.find((v) => (tryParseTalosVersion(v)?.prerelease.length ?? 1) === 0) ?? versions[0];
}

/** Cloud platforms for a version: listed ones except metal, from their first version on. */
export function cloudPlatforms(versionTag: string): PlatformSpec[] {
  const v = tryParseTalosVersion(versionTag);
  return PLATFORMS.filter(
    (p) =>
      p.listed &&
      p.name !== 'metal' &&
      (p.minVersion === undefined || (v && versionAtLeast(v, p.minVersion))),
  );
}

/** The extension catalog as listed: sorted by name, hidden entries removed. */
export function listedCatalog(catalog: readonly ExtensionEntry[]): ExtensionEntry[] {
  return catalog
    .filter((e) => !HIDDEN_EXTENSIONS.has(e.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

type Check = (ctx: FlowContext, data: WizardData) => Promise<string | undefined>;

const CHECKS: Record<Exclude<StepName, 'final'>, Check> = {
  async target(ctx) {
    const t = ctx.state.target;
    if (t === '') return 'Choose what you want to boot.';
    if (t !== 'metal' && t !== 'cloud' && t !== 'sbc') return `Unknown target ${JSON.stringify(t)}.`;
    ctx.target = t;
    return undefined;
  },
  async version(ctx) {
    const v = ctx.state.version;
    if (v === '') return 'Choose a Talos version.';
    const tag = `v${v}`;
    if (!ctx.targetVersions.includes(tag)) {
      return ctx.versions.includes(tag)
        ? `Talos ${tag} does not support single-board computers (overlays start with Talos 1.7).`
        : `Talos version ${JSON.stringify(v)} is not offered by this factory.`;
    }
    ctx.versionTag = tag;
    const parsed = tryParseTalosVersion(tag);
    ctx.quirks = deriveQuirks(parsed);
    ctx.platforms = cloudPlatforms(tag);
    if (ctx.target !== 'cloud') ctx.platform = findPlatform('metal');
    return undefined;
  },
  async platform(ctx) {
    const name = ctx.state.platform;
    if (name === '') return 'Choose a cloud platform.';
    const p = ctx.platforms?.find((x) => x.name === name);
    if (!p) return `Platform ${JSON.stringify(name)} is not offered for Talos ${ctx.versionTag}.`;
    ctx.platform = p;
    return undefined;
  },
  async board(ctx, data) {
    const overlays = await data.overlayCatalog(ctx.versionTag ?? '');
    ctx.overlays = [...overlays].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const name = ctx.state.board;
    if (name === '') return 'Choose a board.';
    const board = overlays.find((o) => o.name === name);
    if (!board)
      return `Board ${JSON.stringify(name)} is not in the overlay catalog of Talos ${ctx.versionTag}.`;
    ctx.board = board;
    ctx.arch = 'arm64';
    ctx.secureBoot = false;
    return undefined;
  },
  async arch(ctx) {
    const p = ctx.platform;
    ctx.secureBootOffered = Boolean(p?.secureBoot && ctx.quirks?.supportsUKI && ctx.secureBootConfigured);
    if (!ctx.secureBootOffered) {
      ctx.secureBootWhyNot =
        p?.secureBoot && ctx.quirks?.supportsUKI
          ? 'This factory has no Secure Boot signing key configured.'
          : `Secure Boot is not offered for ${p?.label ?? 'this platform'} on Talos ${ctx.versionTag}.`;
    }
    const arch = ctx.state.arch;
    if (arch === '') return 'Choose an architecture.';
    if (!p?.architectures.includes(arch as Arch)) {
      return `Architecture ${JSON.stringify(arch)} is not available for ${p?.label ?? 'this platform'}.`;
    }
    if (ctx.state.secureBoot && !ctx.secureBootOffered) {
      return ctx.secureBootConfigured
        ? `Secure Boot is not available for ${p.label} on Talos ${ctx.versionTag}.`
        : 'Secure Boot is not available: this factory has no Secure Boot signing key configured.';
    }
    ctx.arch = arch as Arch;
    ctx.secureBoot = ctx.state.secureBoot;
    return undefined;
  },
  async extensions(ctx, data) {
    const catalog = await data.extensionCatalog(ctx.versionTag ?? '');
    ctx.catalog = listedCatalog(catalog);
    const byName = new Map(catalog.map((e) => [e.name, e]));
    const unknown = ctx.state.extensions.filter((e) => !byName.has(e));
    if (unknown.length > 0) {
      return `Not in the extension catalog of Talos ${ctx.versionTag}: ${unknown.join(', ')}. Unselect ${unknown.length === 1 ? 'it' : 'them'} to go on.`;
    }
    ctx.extensions = ctx.state.extensions.map((e) => byName.get(e) as ExtensionEntry);
    return undefined;
  },
  async customize(ctx) {
    ctx.bootloaderOffered = ctx.quirks?.isoSupportsBootloader ?? false;
    const s = ctx.state;
    if (!(BOOTLOADERS as readonly string[]).includes(s.bootloader)) {
      return `Unknown bootloader ${JSON.stringify(s.bootloader)}.`;
    }
    if (s.bootloader !== 'auto' && !ctx.bootloaderOffered) {
      return `Choosing the bootloader needs Talos 1.12 or later.`;
    }
    let input: DocumentInput;
    try {
      input = {
        extensions: s.extensions,
        extraKernelArgs: splitKernelArgs(s.cmdline),
        meta: parseMetaLines(s.meta),
        ...(s.bootloader !== 'auto' ? { bootloader: s.bootloader } : {}),
        ...(ctx.board
          ? { overlay: { image: ctx.board.image, name: ctx.board.name, optionsYaml: s.overlayOptions } }
          : {}),
      };
      // Parsed (and rejected, back on this step) by the schematic service when the final page creates it.
      ctx.document = schematicDocument(input);
    } catch (e) {
      if (e instanceof DocumentInputError) return e.message;
      throw e;
    }
    return undefined;
  },
};

/** What the factory offers beyond the release data. */
export interface FlowOptions {
  /** Secure Boot signing is configured (else `-secureboot` assets answer 400 and are not offered). */
  readonly secureBoot: boolean;
}

/** Runs the flow up to the step asked for (or the first one whose choice is missing or invalid). */
export async function resolveFlow(
  state: WizardState,
  data: WizardData,
  options: FlowOptions,
): Promise<FlowResult> {
  const steps = stepsFor(state.target);
  const versions = [...(await data.versions())].reverse();
  const targetVersions =
    state.target === 'sbc'
      ? versions.filter((v) => deriveQuirks(tryParseTalosVersion(v)).supportsOverlay)
      : versions;
  const context: FlowContext = {
    state,
    steps,
    versions,
    targetVersions,
    defaultVersion: newestStable(targetVersions),
    secureBootConfigured: options.secureBoot,
  };
  const asked: StepName = isStep(state.step) && steps.includes(state.step) ? state.step : 'target';
  for (const step of steps) {
    if (step === 'final') break;
    const error = await CHECKS[step](context, data);
    if (step === asked) return { step, context };
    if (error !== undefined) return { step, error, context };
  }
  return { step: 'final', context };
}
