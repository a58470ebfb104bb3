/**
 * Repository arguments of client methods (`"registry/path"` strings or parsed objects) and the
 * token scopes operations on them need.
 */
import { repositoryScope } from './auth/authorizer.js';
import { parseRepository, type RepositoryRef } from './reference.js';

export type { RepositoryRef } from './reference.js';

/** A repository as `registry/path` (e.g. `127.0.0.1:5000/siderolabs/imager`) or parsed. */
export type RepoInput = string | RepositoryRef;

/** Normalizes a {@link RepoInput}. */
export function toRepository(input: RepoInput): RepositoryRef {
  return typeof input === 'string' ? parseRepository(input) : input;
}

/** Scopes for reading a repository. */
export function pullScopes(repo: RepositoryRef): string[] {
  return [repositoryScope(repo.repository, ['pull'])];
}

/** Scopes for writing a repository (plus reading `mountFrom` for cross-repository mounts). */
export function pushScopes(repo: RepositoryRef, mountFrom?: string): string[] {
  const scopes = [repositoryScope(repo.repository, ['pull', 'push'])];
  if (mountFrom !== undefined && mountFrom !== repo.repository)
    scopes.push(repositoryScope(mountFrom, ['pull']));
  return scopes;
}
