/**
 * Which Talos versions the factory offers (spec §1.3.3): imager tags parsed tolerantly, at least
 * the minimum version, not in the broken list, and pre-releases only for the newest major.minor
 * (only `alpha|beta|rc.N`). Sorted ascending by semver precedence, rendered with a `v` prefix.
 */

/** A parsed release version. */
export interface ReleaseVersion {
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
  /** `v`-prefixed canonical form without build metadata, e.g. `v1.10.0-rc.1`. */
  tag: string;
}

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** Parses `v1.2.3[-pre][+build]` (the `v` is optional); undefined when it is not strict semver. */
export function parseReleaseVersion(input: string): ReleaseVersion | undefined {
  const m = SEMVER.exec(input.trim());
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (![major, minor, patch].every(Number.isSafeInteger)) return undefined;
  const prerelease = m[4] ? m[4].split('.') : [];
  const tag = `v${major}.${minor}.${patch}${prerelease.length ? `-${prerelease.join('.')}` : ''}`;
  return { major, minor, patch, prerelease, tag };
}

function comparePre(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length; // a release sorts after its pre-releases
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
    } else if (xn !== yn) return xn ? -1 : 1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Semver precedence: negative when a < b. */
export function compareVersions(a: ReleaseVersion, b: ReleaseVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch || comparePre(a.prerelease, b.prerelease);
}

/** Filtering policy for offered versions. */
export interface VersionPolicy {
  minVersion: string;
  broken: readonly string[];
}

const ALLOWED_PRE = /^(alpha|beta|rc)$/;

/** Applies the offering policy to raw tags; returns ascending `v`-prefixed tags. */
export function offeredVersions(tags: readonly string[], policy: VersionPolicy): string[] {
  const min = parseReleaseVersion(policy.minVersion);
  const broken = new Set(policy.broken.map((b) => parseReleaseVersion(b)?.tag).filter(Boolean));
  const parsed = tags
    .map(parseReleaseVersion)
    .filter((v): v is ReleaseVersion => v !== undefined)
    .filter((v) => !min || compareVersions(v, min) >= 0)
    .filter((v) => !broken.has(v.tag));
  const newest = [...parsed].sort(compareVersions).at(-1);
  const kept = parsed.filter((v) => {
    if (v.prerelease.length === 0) return true;
    if (!newest || v.major !== newest.major || v.minor !== newest.minor) return false;
    return v.prerelease.length === 2 && ALLOWED_PRE.test(v.prerelease[0] ?? '') && /^\d+$/.test(v.prerelease[1] ?? '');
  });
  const unique = new Map(kept.map((v) => [v.tag, v]));
  return [...unique.values()].sort(compareVersions).map((v) => v.tag);
}
