/**
 * Which sections a UKI has, in which order, and which of them each `.pcrsig` measures — as data,
 * derived from the target version's quirks (talos-imager.md §5.1, §5.2, §5.4; errata §4).
 *
 * Talos ≥ 1.10 (`ukiNativeSectionOrder`): `.sbat` (the stub's own, measured, not appended),
 * `.osrel`, `.cmdline`, `.uname` (when known), `.splash` (when present), `.pcrpkey` (signed only),
 * `.linux` (unsigned kernel), `.initrd`, then the profiles (`supportsUKIProfiles`): `.profile`
 * `ID=main`, then each extra profile's `.profile` + its own `.cmdline`; signed builds put one
 * `.pcrsig` right after each profile's sections.
 * Talos 1.5–1.9: `.osrel`, `.cmdline`, `.initrd`, `.splash`, `.uname`, `.sbat` (measured only),
 * `.pcrpkey`, `.linux` (the Authenticode-signed kernel when signing), `.pcrsig` last.
 */
import type { QuirkValues } from '../../profile/quirks.js';

/** What fills a section. */
export type UkiContent =
  | 'osrel'
  | 'cmdline'
  | 'uname'
  | 'splash'
  | 'sbat'
  | 'pcrpkey'
  | 'kernel'
  | 'kernel-signed'
  | 'initrd'
  | 'profile'
  | 'profile-cmdline'
  | 'pcrsig';

/** One entry of a UKI section plan. */
export interface UkiSectionEntry {
  /** PE section name, e.g. `.initrd`. */
  readonly name: string;
  readonly content: UkiContent;
  /** Written into the PE file (`.sbat` is already in the stub). */
  readonly append: boolean;
  /** Part of the PCR 11 prediction. */
  readonly measure: boolean;
  /** For `profile`, `profile-cmdline` and `pcrsig`: index into the plan's profiles (0 = `main`). */
  readonly profile?: number;
}

/** A UKI boot profile (`.profile` section, Talos ≥ 1.10). */
export interface UkiProfile {
  readonly id: string;
  readonly title?: string;
  /** The profile's own command line (replaces the base `.cmdline`), if any. */
  readonly cmdline?: string;
}

/** Which media a UKI is built for; decides the extra profiles (talos-imager.md §5.4). */
export type UkiMedium = 'iso' | 'image' | 'installer' | 'uki';

/** Extra profiles per medium, appended to the base cmdline (data table). */
const EXTRA_PROFILES: Readonly<
  Record<UkiMedium, readonly { id: string; title: string; cmdlineSuffix: string }[]>
> = {
  iso: [{ id: 'reset', title: 'Reset system disk', cmdlineSuffix: ' talos.experimental.wipe=system' }],
  image: [
    {
      id: 'reset-maintenance',
      title: 'Reset to maintenance mode',
      cmdlineSuffix: ' talos.experimental.wipe=system:EPHEMERAL,STATE',
    },
  ],
  installer: [
    {
      id: 'reset-maintenance',
      title: 'Reset to maintenance mode',
      cmdlineSuffix: ' talos.experimental.wipe=system:EPHEMERAL,STATE',
    },
  ],
  uki: [],
};

/** The profiles of a UKI for `medium`: `main` first, then the medium's reset profile (≥ 1.10 only). */
export function ukiProfiles(quirks: QuirkValues, medium: UkiMedium, cmdline: string): UkiProfile[] {
  if (!quirks.supportsUKIProfiles) return [];
  return [
    { id: 'main' },
    ...EXTRA_PROFILES[medium].map((p) => ({ id: p.id, title: p.title, cmdline: cmdline + p.cmdlineSuffix })),
  ];
}

/** The `.profile` section text: `ID=<id>` plus `\nTITLE=<title>`, no trailing newline. */
export function profileText(p: UkiProfile): string {
  return p.title === undefined || p.title === '' ? `ID=${p.id}` : `ID=${p.id}\nTITLE=${p.title}`;
}

/** Inputs of {@link ukiSectionPlan}. */
export interface UkiPlanInput {
  readonly quirks: QuirkValues;
  readonly signed: boolean;
  /** A kernel release was found (`.uname`). */
  readonly hasUname: boolean;
  /** The release has a splash image (`.splash`). */
  readonly hasSplash: boolean;
  /** From {@link ukiProfiles}; empty below 1.10. */
  readonly profiles: readonly UkiProfile[];
}

const entry = (
  name: string,
  content: UkiContent,
  append = true,
  measure = true,
  profile?: number,
): UkiSectionEntry =>
  profile === undefined ? { name, content, append, measure } : { name, content, append, measure, profile };

/** The ordered section plan for one UKI. */
export function ukiSectionPlan(input: UkiPlanInput): UkiSectionEntry[] {
  const { quirks, signed, hasUname, hasSplash } = input;
  const plan: UkiSectionEntry[] = [];
  if (!quirks.ukiNativeSectionOrder) {
    plan.push(entry('.osrel', 'osrel'), entry('.cmdline', 'cmdline'), entry('.initrd', 'initrd'));
    if (hasSplash) plan.push(entry('.splash', 'splash'));
    if (hasUname) plan.push(entry('.uname', 'uname'));
    plan.push(entry('.sbat', 'sbat', false));
    if (signed) plan.push(entry('.pcrpkey', 'pcrpkey'));
    plan.push(entry('.linux', signed ? 'kernel-signed' : 'kernel'));
    if (signed) plan.push(entry('.pcrsig', 'pcrsig', true, false));
    return plan;
  }
  plan.push(entry('.sbat', 'sbat', false), entry('.osrel', 'osrel'), entry('.cmdline', 'cmdline'));
  if (hasUname) plan.push(entry('.uname', 'uname'));
  if (hasSplash) plan.push(entry('.splash', 'splash'));
  if (signed) plan.push(entry('.pcrpkey', 'pcrpkey'));
  plan.push(entry('.linux', 'kernel'), entry('.initrd', 'initrd'));
  const profiles = quirks.supportsUKIProfiles ? input.profiles : [];
  profiles.forEach((p, i) => {
    plan.push(entry('.profile', 'profile', true, true, i));
    if (p.cmdline !== undefined) plan.push(entry('.cmdline', 'profile-cmdline', true, true, i));
    if (signed) plan.push(entry('.pcrsig', 'pcrsig', true, false, i));
  });
  if (signed && profiles.length === 0) plan.push(entry('.pcrsig', 'pcrsig', true, false));
  return plan;
}

/**
 * The measured sections behind each `.pcrsig` of a plan, by section name (a profile's `.cmdline`
 * replaces the base one): the base sections before the first `.profile` plus that profile's own.
 * Returns one set per `.pcrsig` entry, in plan order.
 */
export function pcrMeasurementSets(plan: readonly UkiSectionEntry[]): Map<string, UkiSectionEntry>[] {
  const measured = plan.filter((e) => e.measure);
  const firstProfile = measured.findIndex((e) => e.content === 'profile');
  const base = firstProfile < 0 ? measured : measured.slice(0, firstProfile);
  return plan
    .filter((e) => e.content === 'pcrsig')
    .map((sig) => {
      const set = new Map<string, UkiSectionEntry>();
      for (const e of base) set.set(e.name, e);
      if (sig.profile !== undefined)
        for (const e of measured) if (e.profile === sig.profile) set.set(e.name, e);
      return set;
    });
}
