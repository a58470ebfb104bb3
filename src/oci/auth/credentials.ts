/**
 * Registry credentials and providers for them. A provider is asked per registry host and may
 * answer "none" (anonymous access).
 */

/** Username/password for a registry (also used to obtain bearer tokens). */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Returns the credentials for a registry host (`host[:port]`), or undefined for anonymous. */
export type CredentialsProvider = (host: string) => Promise<Credentials | undefined>;

/** A provider that never has credentials. */
export const anonymous: CredentialsProvider = () => Promise.resolve(undefined);

/** A provider backed by a fixed map keyed by `host[:port]`. */
export function staticCredentials(map: Readonly<Record<string, Credentials>>): CredentialsProvider {
  return (host) => Promise.resolve(map[host]);
}

/** Tries each provider in order and returns the first credentials found. */
export function chainCredentials(...providers: CredentialsProvider[]): CredentialsProvider {
  return async (host) => {
    for (const provider of providers) {
      const found = await provider(host);
      if (found) return found;
    }
    return undefined;
  };
}
