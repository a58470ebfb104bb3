/**
 * Talos version strings as the factory accepts them (image-factory §1.3.2 step 3): an optional
 * single `v` prefix, then strict semver `MAJOR.MINOR.PATCH[-pre][+build]`. Upstream answers a
 * parse failure with an untagged 500; we answer 400 `VERSION_INVALID` naming the input.
 */
import { FactoryError } from '../errors.js';
import { goQuote } from './go-quote.js';

/** The parts of a version that order it (build metadata never does). */
export type SemverCore = Pick<TalosVersion, 'major' | 'minor' | 'patch' | 'prerelease'>;

/** A parsed Talos version. */
export interface TalosVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Pre-release identifiers (`rc.1` → `['rc', '1']`). */
  readonly prerelease: readonly string[];
  /** Build-metadata identifiers; kept for display, ignored by comparison. */
  readonly build: readonly string[];
  /** Normalised tag: `vX.Y.Z[-pre][+build]` (what upstream puts in URLs and image tags). */
  readonly tag: string;
}

const NUMERIC = /^[0-9]+$/;
const IDENTIFIER = /^[0-9A-Za-z-]+$/;

function fail(input: string, reason: string): never {
  throw new FactoryError('VERSION_INVALID', `invalid Talos version ${goQuote(input)}: ${reason}`);
}

function parseNumber(input: string, part: string, name: string): number {
  if (!NUMERIC.test(part)) fail(input, `${name} version ${goQuote(part)} is not a number`);
  if (part.length > 1 && part.startsWith('0'))
    fail(input, `${name} version ${goQuote(part)} has a leading zero`);
  const n = Number(part);
  if (!Number.isSafeInteger(n)) fail(input, `${name} version ${goQuote(part)} is too large`);
  return n;
}

function parseIdentifiers(input: string, text: string, name: string, numericRule: boolean): string[] {
  const ids = text.split('.');
  for (const id of ids) {
    if (id === '') fail(input, `${name} has an empty identifier`);
    if (!IDENTIFIER.test(id))
      fail(input, `${name} identifier ${goQuote(id)} has characters outside [0-9A-Za-z-]`);
    // semver: numeric pre-release identifiers must not have leading zeros (build metadata may).
    if (numericRule && NUMERIC.test(id) && id.length > 1 && id.startsWith('0')) {
      fail(input, `${name} identifier ${goQuote(id)} has a leading zero`);
    }
  }
  return ids;
}

/** Parses a Talos version strictly; throws `VERSION_INVALID` naming the input and the defect. */
export function parseTalosVersion(input: string): TalosVersion {
  const s = input.startsWith('v') ? input.slice(1) : input;
  if (s === '') fail(input, 'version string is empty');

  const plus = s.indexOf('+');
  const main = plus === -1 ? s : s.slice(0, plus);
  const build = plus === -1 ? [] : parseIdentifiers(input, s.slice(plus + 1), 'build metadata', false);

  const dash = main.indexOf('-');
  const core = dash === -1 ? main : main.slice(0, dash);
  const prerelease = dash === -1 ? [] : parseIdentifiers(input, main.slice(dash + 1), 'pre-release', true);

  const parts = core.split('.');
  if (parts.length !== 3) fail(input, 'expected MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]');
  const [major, minor, patch] = [
    parseNumber(input, parts[0] ?? '', 'major'),
    parseNumber(input, parts[1] ?? '', 'minor'),
    parseNumber(input, parts[2] ?? '', 'patch'),
  ];
  return makeVersion(major, minor, patch, prerelease, build);
}

/** Like {@link parseTalosVersion} but returns undefined instead of throwing. */
export function tryParseTalosVersion(input: string): TalosVersion | undefined {
  try {
    return parseTalosVersion(input);
  } catch {
    return undefined;
  }
}

function makeVersion(
  major: number,
  minor: number,
  patch: number,
  prerelease: readonly string[],
  build: readonly string[],
): TalosVersion {
  const pre = prerelease.length > 0 ? `-${prerelease.join('.')}` : '';
  const meta = build.length > 0 ? `+${build.join('.')}` : '';
  return { major, minor, patch, prerelease, build, tag: `v${major}.${minor}.${patch}${pre}${meta}` };
}

/** The version without pre-release and build parts (how the imager's quirks see a version). */
export function coreVersion(v: TalosVersion): TalosVersion {
  return makeVersion(v.major, v.minor, v.patch, [], []);
}

/** The version text without the `v` prefix (upstream's "version X is not available" form). */
export function versionWithoutV(v: TalosVersion): string {
  return v.tag.slice(1);
}

function compareIdentifiers(a: string, b: string): number {
  const an = NUMERIC.test(a);
  const bn = NUMERIC.test(b);
  if (an && bn) {
    // No leading zeros (parse rejects them), so length then text orders arbitrarily large numbers.
    return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
  }
  if (an !== bn) return an ? -1 : 1; // numeric identifiers sort before alphanumeric ones
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Semver precedence: negative when a < b, 0 when equal (build metadata ignored), positive otherwise. */
export function compareTalosVersions(a: SemverCore, b: SemverCore): number {
  const core = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (core !== 0) return Math.sign(core);
  const ap = a.prerelease;
  const bp = b.prerelease;
  if (ap.length === 0 || bp.length === 0) return Math.sign(bp.length - ap.length); // release > its pre-releases
  for (let i = 0; i < Math.min(ap.length, bp.length); i++) {
    const d = compareIdentifiers(ap[i] ?? '', bp[i] ?? '');
    if (d !== 0) return Math.sign(d);
  }
  return Math.sign(ap.length - bp.length);
}

/** True when `v` ≥ `min` by semver precedence (`min` is a version literal such as `1.6.3`). */
export function versionAtLeast(v: TalosVersion, min: string): boolean {
  return compareTalosVersions(v, parseTalosVersion(min)) >= 0;
}
