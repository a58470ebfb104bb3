/**
 * Image reference parsing (`[registry/]path[:tag][@digest]`) following the distribution
 * reference grammar, plus the repository-only form (`registry/path`) the client methods take.
 */
import { FactoryError } from '../errors.js';
import { isValidDigest } from './digest.js';

/** A parsed image reference. At least one of `tag`/`digest` is set after parsing. */
export interface ImageReference {
  /** Registry host with optional port, e.g. `ghcr.io` or `127.0.0.1:5000`. */
  readonly registry: string;
  /** Repository path inside the registry, e.g. `siderolabs/imager`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** A repository on a registry: what blob/manifest/tag operations address. */
export interface RepositoryRef {
  readonly registry: string;
  readonly repository: string;
}

/** Options for reference parsing. */
export interface ParseReferenceOptions {
  /** Registry used when the reference names none (default `docker.io`). */
  readonly defaultRegistry?: string;
}

const DOCKER_HUB = 'docker.io';
// One path component: lowercase alphanumerics joined by `.`, `_`, `__` or runs of `-`.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const MAX_NAME_LENGTH = 255;

function invalid(input: string, reason: string): FactoryError {
  return new FactoryError('CONFIG_INVALID', `invalid image reference "${input}": ${reason}`);
}

function isValidHost(host: string): boolean {
  let name = host;
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(host);
  if (bracketed) return true;
  const colon = host.lastIndexOf(':');
  if (colon !== -1) {
    const port = host.slice(colon + 1);
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return false;
    name = host.slice(0, colon);
  }
  return name.length > 0 && name.split('.').every((label) => HOST_LABEL.test(label));
}

// Docker's rule: the first component is a registry host only when it looks like one
// (has a dot or a port, is `localhost`, or has uppercase letters, which repository paths cannot).
function looksLikeHost(component: string): boolean {
  return /[.:]/.test(component) || component === 'localhost' || component !== component.toLowerCase();
}

function splitName(input: string, name: string, options: ParseReferenceOptions): RepositoryRef {
  if (name.length === 0) throw invalid(input, 'repository name is empty');
  const slash = name.indexOf('/');
  let registry = options.defaultRegistry ?? DOCKER_HUB;
  let repository = name;
  if (slash !== -1 && looksLikeHost(name.slice(0, slash))) {
    registry = name.slice(0, slash);
    repository = name.slice(slash + 1);
  }
  if (!isValidHost(registry)) throw invalid(input, `registry host "${registry}" is malformed`);
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (repository.length === 0) throw invalid(input, 'repository path is empty');
  if (repository.length > MAX_NAME_LENGTH)
    throw invalid(input, `repository path is longer than ${MAX_NAME_LENGTH}`);
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(
        input,
        `repository path component "${component}" must be lowercase alphanumerics and separators`,
      );
    }
  }
  return { registry, repository };
}

/** Parses `[registry/]path[:tag][@digest]`; a reference without tag or digest gets tag `latest`. */
export function parseReference(input: string, options: ParseReferenceOptions = {}): ImageReference {
  let rest = input.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isValidDigest(digest)) throw invalid(input, `digest "${digest}" is malformed`);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  // A colon after the last slash separates the tag; one before it belongs to the registry port.
  if (lastColon !== -1 && lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw invalid(input, `tag "${tag}" is malformed`);
  }
  const { registry, repository } = splitName(input, rest, options);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return {
    registry,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** Parses `registry/path` (no tag or digest allowed). */
export function parseRepository(input: string, options: ParseReferenceOptions = {}): RepositoryRef {
  if (input.includes('@')) throw invalid(input, 'a repository must not carry a digest');
  const lastColon = input.lastIndexOf(':');
  if (lastColon !== -1 && lastColon > input.lastIndexOf('/'))
    throw invalid(input, 'a repository must not carry a tag');
  return splitName(input, input.trim(), options);
}

/** The manifest reference to request for `ref`: its digest when pinned, else its tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** Formats a reference back to its canonical string form. */
export function formatReference(ref: ImageReference): string {
  const name = `${ref.registry}/${ref.repository}`;
  return `${name}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** Formats a repository as `registry/path`. */
export function formatRepository(repo: RepositoryRef): string {
  return `${repo.registry}/${repo.repository}`;
}

/** True when `value` is a valid tag (as opposed to a digest). */
export function isValidTag(value: string): boolean {
  return TAG.test(value);
}
