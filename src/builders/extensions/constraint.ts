/**
 * Talos-version compatibility constraints as the HEAD imager checks them (talos-imager §1.4):
 * every `v` directly before a digit is dropped, the rest is a blang/semver v4 range (`>= 1.5.0`,
 * `<1.8.0`, `>=1.5.0 <1.9.0 || >=2.0.0`, `1.5.x`, `!=1.6.0`), and the target's
 * major.minor.patch (pre-release dropped) must satisfy it. One deliberate leniency: a comma
 * also means AND (HashiCorp syntax used by 1.5-era manifests), where blang would fail to parse.
 */
import { compareTalosVersions, tryParseTalosVersion, type SemverCore } from '../../profile/version.js';

/** A parsed semantic version. */
export type SemVer = SemverCore;

/** A constraint that cannot be parsed; the message says which part. */
export class ConstraintError extends Error {
  override readonly name = 'ConstraintError';
}

type Comparator = (v: SemVer) => boolean;

/** Parses `constraint` into a predicate over versions. */
export function parseConstraint(constraint: string): (v: SemVer) => boolean {
  const text = stripV(constraint).replace(/,/g, ' ');
  const parts = splitAndTrim(text);
  if (parts.length === 0) throw new ConstraintError('empty constraint');
  const ors: string[][] = [[]];
  parts.forEach((p, i) => {
    if (p === '||') {
      if (i === 0) throw new ConstraintError("first element is '||'");
      ors.push([]);
    } else ors[ors.length - 1]?.push(p);
  });
  if ((ors[ors.length - 1] ?? []).length === 0) throw new ConstraintError("last element is '||'");
  const alternatives = ors.map((and) => and.flatMap(expandWildcard).map(comparator));
  return (v) => alternatives.some((and) => and.every((c) => c(v)));
}

/** True when `talosVersion` (e.g. `v1.8.0-beta.1`) satisfies `constraint`; empty constraints always do. */
export function satisfies(constraint: string, talosVersion: string): boolean {
  if (constraint.trim() === '') return true;
  const v = parseTolerant(talosVersion);
  return parseConstraint(constraint)({ major: v.major, minor: v.minor, patch: v.patch, prerelease: [] });
}

/** Parses a version leniently like blang ParseTolerant: optional `v`, missing minor/patch as 0. */
export function parseTolerant(input: string): SemVer {
  let s = input.trim().replace(/^v/, '');
  const [core = '', ...rest] = s.split(/(?=[-+])/);
  const nums = core.split('.');
  if (nums.length < 3) s = [...nums, ...Array<string>(3 - nums.length).fill('0')].join('.') + rest.join('');
  return parseStrict(s);
}

/** Parses a strict semver 2.0 version string (no `v`, three numeric parts). */
export function parseStrict(s: string): SemVer {
  const v = s.startsWith('v') ? undefined : tryParseTalosVersion(s);
  if (v === undefined) throw new ConstraintError(`invalid version ${JSON.stringify(s)}`);
  return { major: v.major, minor: v.minor, patch: v.patch, prerelease: v.prerelease };
}

/** Semver precedence: -1, 0 or 1 (the one implementation in profile/version.ts). */
export const compareSemVer: (a: SemVer, b: SemVer) => number = compareTalosVersions;

/** Drops each `v` that directly precedes a digit (Talos' `trim`). */
function stripV(s: string): string {
  return s.replace(/v(?=[0-9])/g, '');
}

/** blang splitAndTrim: split on spaces, except spaces right after an operator character. */
function splitAndTrim(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let last = '';
  for (const ch of s) {
    const afterOperator = last !== '' && '<>='.includes(last);
    if (ch === ' ' && !afterOperator) {
      if (cur !== '') out.push(cur);
      cur = '';
    } else if (ch !== ' ') {
      cur += ch;
      last = ch;
    }
  }
  if (cur !== '') out.push(cur);
  return out;
}

/** Splits `>=1.2.3` into operator and version (the operator is everything before the first digit). */
function splitOp(part: string): [string, string] {
  const i = part.search(/[0-9]/);
  if (i < 0) throw new ConstraintError(`no version in ${JSON.stringify(part)}`);
  return [part.slice(0, i).trim(), part.slice(i)];
}

/** blang's wildcard expansion: `1.5.x` → `>=1.5.0 <1.6.0`, `>1.x` → `>=2.0.0`, … */
function expandWildcard(part: string): string[] {
  if (!part.includes('x')) return [part];
  const [op, ver] = splitOp(part);
  const pieces = ver.split('.');
  const kind = pieces[pieces.length - 1] === 'x' ? pieces.length : 0;
  const flat = flatten(ver);
  const bump = (): string => {
    const [maj = '0', min = '0', pat = '0'] = flat.split('.');
    if (kind === 3) return `${maj}.${Number(min) + 1}.${pat}`;
    if (kind === 2) return `${Number(maj) + 1}.${min}.${pat}`;
    return flat;
  };
  switch (op) {
    case '>':
      return [`>=${bump()}`];
    case '>=':
      return [`>=${flat}`];
    case '<':
      return [`<${flat}`];
    case '<=':
      return [`<${bump()}`];
    case '':
    case '=':
    case '==':
      return [`>=${flat}`, `<${bump()}`];
    case '!=':
    case '!':
      return [`<${flat}`, `>=${bump()}`];
    default:
      throw new ConstraintError(`invalid operator ${JSON.stringify(op)} in ${JSON.stringify(part)}`);
  }
}

function flatten(ver: string): string {
  const v = ver.replace('.x.x', '.x').replace('.x', '.0');
  return v.split('.').length === 2 ? `${v}.0` : v;
}

function comparator(part: string): Comparator {
  const [op, ver] = splitOp(part);
  const target = parseStrict(ver);
  const cmp = (v: SemVer): number => compareSemVer(v, target);
  switch (op) {
    case '':
    case '=':
    case '==':
      return (v) => cmp(v) === 0;
    case '!':
    case '!=':
      return (v) => cmp(v) !== 0;
    case '>':
      return (v) => cmp(v) > 0;
    case '>=':
      return (v) => cmp(v) >= 0;
    case '<':
      return (v) => cmp(v) < 0;
    case '<=':
      return (v) => cmp(v) <= 0;
    default:
      throw new ConstraintError(`invalid operator ${JSON.stringify(op)} in ${JSON.stringify(part)}`);
  }
}
