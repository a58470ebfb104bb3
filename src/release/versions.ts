/**
 * Which Talos versions the factory offers (spec §1.3.3): imager tags parsed tolerantly, at least
 * the minimum version, not in the broken list, and pre-releases only for the newest major.minor
 * (only `alpha|beta|rc.N`). Sorted ascending by semver precedence, rendered with a `v` prefix
 * and without build metadata.
 */
import { compareTalosVersions, tryParseTalosVersion, type TalosVersion } from '../profile/version.js';

/** Filtering policy for offered versions. */
export interface VersionPolicy {
  minVersion: string;
  broken: readonly string[];
}

const ALLOWED_PRE = /^(alpha|beta|rc)$/;

/** The `v`-prefixed tag of a version without build metadata (what `/versions` lists). */
export function releaseTag(v: TalosVersion): string {
  return `v${v.major}.${v.minor}.${v.patch}${v.prerelease.length ? `-${v.prerelease.join('.')}` : ''}`;
}

/** Applies the offering policy to raw tags; returns ascending `v`-prefixed tags. */
export function offeredVersions(tags: readonly string[], policy: VersionPolicy): string[] {
  const min = tryParseTalosVersion(policy.minVersion);
  const broken = new Set(
    policy.broken.map((b) => tryParseTalosVersion(b)).flatMap((v) => (v ? [releaseTag(v)] : [])),
  );
  const parsed = tags
    .map((t) => tryParseTalosVersion(t))
    .filter((v): v is TalosVersion => v !== undefined)
    .filter((v) => !min || compareTalosVersions(v, min) >= 0)
    .filter((v) => !broken.has(releaseTag(v)));
  const newest = [...parsed].sort(compareTalosVersions).at(-1);
  const kept = parsed.filter((v) => {
    if (v.prerelease.length === 0) return true;
    if (!newest || v.major !== newest.major || v.minor !== newest.minor) return false;
    return (
      v.prerelease.length === 2 &&
      ALLOWED_PRE.test(v.prerelease[0] ?? '') &&
      /^\d+$/.test(v.prerelease[1] ?? '')
    );
  });
  const unique = new Map(kept.map((v) => [releaseTag(v), v]));
  return [...unique.values()].sort(compareTalosVersions).map(releaseTag);
}
