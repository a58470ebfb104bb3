/**
 * Loads configuration from (lowest to highest precedence) defaults, a YAML/JSON file, environment
 * variables and command-line flags, then validates it against `configSchema`.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { FactoryError } from '../errors.js';
import { configSchema, type Config } from './schema.js';

/** Flags understood by `serve` (each also has an environment variable, see {@link FLAG_ENV}). */
export interface ConfigFlags {
  config?: string | undefined;
  listen?: string | undefined;
  dataDir?: string | undefined;
  externalUrl?: string | undefined;
  externalPxeUrl?: string | undefined;
  logLevel?: string | undefined;
}

type FlagKey = keyof ConfigFlags;

/** Environment variables that stand for a flag, and the config path each one sets. */
export const FLAG_ENV: Record<FlagKey, { env: string; path: string[] | null }> = {
  config: { env: 'IMAGE_FACTORY_CONFIG', path: null },
  listen: { env: 'IMAGE_FACTORY_LISTEN', path: ['http', 'listen'] },
  dataDir: { env: 'IMAGE_FACTORY_DATA_DIR', path: ['dataDir'] },
  externalUrl: { env: 'IMAGE_FACTORY_EXTERNAL_URL', path: ['http', 'externalURL'] },
  externalPxeUrl: { env: 'IMAGE_FACTORY_EXTERNAL_PXE_URL', path: ['http', 'externalPXEURL'] },
  logLevel: { env: 'IMAGE_FACTORY_LOG_LEVEL', path: ['log', 'level'] },
};

/** Prefix of generic overrides: `IMAGE_FACTORY__build__maxConcurrency=4` sets `build.maxConcurrency`. */
export const GENERIC_ENV_PREFIX = 'IMAGE_FACTORY__';

type Tree = Record<string, unknown>;

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const [i, key] of path.entries()) {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Tree;
  }
}

/** Environment values are JSON when they parse as JSON (numbers, booleans, arrays), else plain strings. */
function envValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function readConfigFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FactoryError('CONFIG_INVALID', `config file ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true });
  } catch (e) {
    throw new FactoryError('CONFIG_INVALID', `config file ${file}: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new FactoryError('CONFIG_INVALID', `config file ${file}: top level must be a mapping`);
  }
  return doc as Tree;
}

/** Builds and validates the configuration; throws CONFIG_INVALID naming the offending key. */
export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const file = flags.config ?? env[FLAG_ENV.config.env];
  const tree: Tree = file ? readConfigFile(file) : {};

  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || !name.startsWith(GENERIC_ENV_PREFIX)) continue;
    const path = name.slice(GENERIC_ENV_PREFIX.length).split('__').filter(Boolean);
    if (path.length > 0) setPath(tree, path, envValue(raw));
  }
  for (const [key, { env: envName, path }] of Object.entries(FLAG_ENV) as [
    FlagKey,
    (typeof FLAG_ENV)[FlagKey],
  ][]) {
    if (!path) continue;
    const fromEnv = env[envName];
    if (fromEnv !== undefined && fromEnv !== '') setPath(tree, path, fromEnv);
    const fromFlag = flags[key];
    if (fromFlag !== undefined) setPath(tree, path, fromFlag);
  }
  return validateConfig(tree);
}

/** Validates a raw configuration tree (defaults filled in); throws CONFIG_INVALID naming the key. */
export function validateConfig(tree: unknown): Config {
  const result = configSchema.safeParse(tree);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.') || '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => (key === '(top level)' ? k : `${key}.${k}`));
      return `unknown config key ${keys.map((k) => `"${k}"`).join(', ')}`;
    }
    return `config key "${key}": ${issue.message}`;
  });
  throw new FactoryError('CONFIG_INVALID', lines.join('; '));
}

/** The external URL: configured, or derived from the listen address. */
export function externalUrlOf(config: Config): string {
  if (config.http.externalURL) return config.http.externalURL;
  const listen = config.http.listen;
  const host = listen.startsWith('0.0.0.0:') ? `127.0.0.1${listen.slice(7)}` : listen;
  return `http://${host}/`;
}
