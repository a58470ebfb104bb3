/**
 * Credentials from a docker `config.json` (`auths.<host>.auth` = base64 `user:pass`, or
 * `username`/`password`). Credential helpers (`credsStore`, `credHelpers`) are not supported
 * because they need external programs that this deployment does not ship.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FactoryError } from '../../errors.js';
import type { Credentials, CredentialsProvider } from './credentials.js';

/** Where to find the docker config. */
export interface DockerConfigOptions {
  /** Explicit path to `config.json`; wins over `env.DOCKER_CONFIG`. */
  readonly path?: string;
  /** Environment to read `DOCKER_CONFIG` (a directory) and `HOME` from; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The config.json path docker itself would use. */
export function dockerConfigPath(options: DockerConfigOptions = {}): string {
  if (options.path !== undefined) return options.path;
  const env = options.env ?? process.env;
  const dir = env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker');
  return join(dir, 'config.json');
}

// `https://index.docker.io/v1/`, `http://host:5000`, `host:5000/v2/` → `host:5000`.
function normalizeKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

function entryCredentials(path: string, key: string, entry: unknown): Credentials | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  if (typeof e.auth === 'string' && e.auth.length > 0) {
    const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) {
      throw new FactoryError(
        'CONFIG_INVALID',
        `${path}: auths["${key}"].auth is not base64 of "user:password"`,
      );
    }
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof e.username === 'string' && typeof e.password === 'string') {
    return { username: e.username, password: e.password };
  }
  return undefined;
}

/** Parses config.json text into a host → credentials map (`path` only names the file in errors). */
export function parseDockerConfig(text: string, path: string): Map<string, Credentials> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new FactoryError(
      'CONFIG_INVALID',
      `${path}: not valid JSON (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const result = new Map<string, Credentials>();
  if (typeof doc !== 'object' || doc === null) return result;
  const auths = (doc as Record<string, unknown>).auths;
  if (typeof auths !== 'object' || auths === null) return result;
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    const creds = entryCredentials(path, key, entry);
    const host = normalizeKey(key);
    // An exact-host key beats a URL-form key for the same host.
    if (creds && (!result.has(host) || key === host)) result.set(host, creds);
  }
  return result;
}

/**
 * A provider reading docker's config.json once (lazily, on first use). A missing file means
 * "no credentials"; a malformed one is a CONFIG_INVALID error naming the file.
 */
export function dockerConfigCredentials(options: DockerConfigOptions = {}): CredentialsProvider {
  const path = dockerConfigPath(options);
  let loaded: Promise<Map<string, Credentials>> | undefined;
  const load = async (): Promise<Map<string, Credentials>> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new FactoryError('CONFIG_INVALID', `${path}: cannot read docker config`, { cause: e });
    }
    return parseDockerConfig(text, path);
  };
  return async (host) => {
    loaded ??= load();
    return (await loaded).get(host === 'index.docker.io' ? 'docker.io' : host);
  };
}
