/**
 * Per-registry connection settings: which hosts speak plain HTTP. Everything else is HTTPS.
 */

/** Connection settings for one registry host. */
export interface HostConfig {
  /** Talk plain HTTP instead of HTTPS (local/test registries). */
  readonly insecure?: boolean;
}

/** Looks up the settings of a registry host (`host[:port]`). */
export type HostResolver = (host: string) => HostConfig;

/** A resolver backed by a map keyed by `host[:port]`; unknown hosts get HTTPS. */
export function hostConfigMap(map: Readonly<Record<string, HostConfig>>): HostResolver {
  return (host) => map[host] ?? {};
}

/** A resolver treating exactly the listed hosts as plain HTTP. */
export function insecureHosts(hosts: readonly string[]): HostResolver {
  const set = new Set(hosts);
  return (host) => (set.has(host) ? { insecure: true } : {});
}

// Docker Hub's API lives on a different host than the name used in references.
function endpointHost(host: string): string {
  return host === 'docker.io' || host === 'index.docker.io' ? 'registry-1.docker.io' : host;
}

/** The base URL (`scheme://host`) for talking to a registry host. */
export function registryBaseUrl(host: string, config: HostConfig): string {
  return `${config.insecure ? 'http' : 'https'}://${endpointHost(host)}`;
}
