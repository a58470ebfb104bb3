/**
 * Fixture Talos versions and the version-dependent facts the fixtures must reproduce
 * (talos-imager.md §9 quirks that change the *inputs*, not the factory's outputs).
 */
import { FactoryError } from '../errors.js';

/**
 * Default fixture tags. Each exercises something:
 * - v1.1.2: below the factory's default minimum (1.2.0), so `/versions` must drop it;
 * - v1.5.5: xz initramfs, `/lib/{modules,firmware}`, two-layer `installer` (Docker media types),
 *   no overlays catalog, no descriptions.yaml, base firmware inside the initramfs;
 * - v1.8.3: zstd initramfs and squashfs, overlays catalog, descriptions.yaml;
 * - v1.10.0-rc.1: a pre-release of a minor below the highest one, so `/versions` must drop it;
 * - v1.10.6: `/usr/lib/...` paths, one-layer `installer-base`;
 * - v1.11.0-beta.1: a pre-release of the highest minor, so `/versions` keeps it.
 */
export const DEFAULT_FIXTURE_VERSIONS = [
  'v1.1.2',
  'v1.5.5',
  'v1.8.3',
  'v1.10.0-rc.1',
  'v1.10.6',
  'v1.11.0-beta.1',
] as const;

/** The version-dependent shape of one fixture release. */
export interface FixtureVersionSpec {
  /** Tag as published, e.g. `v1.10.6`. */
  tag: string;
  major: number;
  minor: number;
  patch: number;
  /** Pre-release part without the dash (`rc.1`), or undefined. */
  prerelease?: string;
  /** zstd for the base initramfs and rootfs.sqsh (Talos ≥ 1.8), xz before. */
  zstd: boolean;
  /** Modules and firmware live under `/usr/lib` (Talos ≥ 1.10). */
  usrLib: boolean;
  /** Base installer repo is `installer-base` with one layer (≥ 1.10), else `installer` with two. */
  installerBase: boolean;
  /** An `overlays:<tag>` catalog exists (≥ 1.7). */
  overlays: boolean;
  /** The extensions catalog carries `descriptions.yaml` (here: ≥ 1.8; older catalogs lack it). */
  descriptions: boolean;
  /** The base initramfs carries a few firmware files itself, like Talos 1.5 (here: < 1.6). */
  baseFirmware: boolean;
  /** Docker (schema 2) media types instead of OCI ones for the installer image (here: < 1.8). */
  dockerMediaTypes: boolean;
  /** `lib/modules` or `usr/lib/modules`. */
  modulesRoot: string;
  /** `lib/firmware` or `usr/lib/firmware`. */
  firmwareRoot: string;
}

/** Parses a `vMAJOR.MINOR.PATCH[-pre]` tag and derives its quirks; fails naming the tag. */
export function versionSpec(tag: string): FixtureVersionSpec {
  const m = /^v(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/.exec(tag);
  if (!m)
    throw new FactoryError('VERSION_INVALID', `fixture version "${tag}" is not vMAJOR.MINOR.PATCH[-pre]`);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = Number(m[3]);
  // Quirks ignore the pre-release part (1.10.0-rc.1 behaves as 1.10.0), like Talos' quirks.
  const atLeast = (a: number, b: number): boolean => major > a || (major === a && minor >= b);
  const usrLib = atLeast(1, 10);
  return {
    tag,
    major,
    minor,
    patch,
    ...(m[4] === undefined ? {} : { prerelease: m[4] }),
    zstd: atLeast(1, 8),
    usrLib,
    installerBase: usrLib,
    overlays: atLeast(1, 7),
    descriptions: atLeast(1, 8),
    baseFirmware: !atLeast(1, 6),
    dockerMediaTypes: !atLeast(1, 8),
    modulesRoot: usrLib ? 'usr/lib/modules' : 'lib/modules',
    firmwareRoot: usrLib ? 'usr/lib/firmware' : 'lib/firmware',
  };
}

/** True when `spec` satisfies a `>= vX.Y.Z` constraint (pre-release ignored, as Talos does); undefined = no constraint. */
export function satisfiesConstraint(spec: FixtureVersionSpec, constraint: string | undefined): boolean {
  if (constraint === undefined) return true;
  const m = /^>=\s*v?(\d+)\.(\d+)\.(\d+)$/.exec(constraint.trim());
  if (!m) throw new FactoryError('INTERNAL', `fixture constraint "${constraint}" is not ">= vX.Y.Z"`);
  const want = [Number(m[1]), Number(m[2]), Number(m[3])];
  const have = [spec.major, spec.minor, spec.patch];
  for (let i = 0; i < 3; i++) {
    if (have[i]! !== want[i]!) return have[i]! > want[i]!;
  }
  return true;
}
