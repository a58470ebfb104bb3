/**
 * Decides the `Authorization` header of registry requests. It learns each host's challenge from
 * its first 401, then answers later requests up front: Basic with configured credentials, or a
 * bearer token per scope set (cached until shortly before expiry, fetched once per key at a time).
 */
import { FactoryError } from '../../errors.js';
import { type AuthChallenge, parseWwwAuthenticate, pickChallenge } from './challenge.js';
import type { Credentials, CredentialsProvider } from './credentials.js';
import { type BearerToken, type FetchLike, requestToken } from './token.js';

/** Dependencies of an {@link Authorizer}. */
export interface AuthorizerOptions {
  readonly fetch: FetchLike;
  readonly credentials: CredentialsProvider;
  readonly timeoutMs: number;
  readonly userAgent: string;
  readonly now: () => number;
}

/** What was sent with a request, so a 401 can be explained and acted upon. */
export interface SentAuth {
  readonly header?: string;
  readonly description: string;
}

/** Scope string for repository access, e.g. `repository:siderolabs/imager:pull,push`. */
export function repositoryScope(
  repository: string,
  actions: readonly ('pull' | 'push' | 'delete')[],
): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/** Scope string for listing the registry catalog. */
export const CATALOG_SCOPE = 'registry:catalog:*';

function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** Per-client authentication state (challenges per host, token cache per scope set). */
export class Authorizer {
  private readonly challenges = new Map<string, AuthChallenge>();
  private readonly tokens = new Map<string, BearerToken>();
  private readonly pending = new Map<string, Promise<BearerToken>>();
  private readonly extraScopes = new Map<string, readonly string[]>();

  constructor(private readonly options: AuthorizerOptions) {}

  private key(host: string, scopes: readonly string[]): string {
    return `${host} ${[...scopes].sort().join(' ')}`;
  }

  /** The Authorization header to send for `scopes` on `host` (undefined: go anonymous). */
  async authorize(host: string, scopes: readonly string[]): Promise<SentAuth> {
    const challenge = this.challenges.get(host);
    if (!challenge) return { description: 'no credentials' };
    const credentials = await this.options.credentials(host);
    if (challenge.scheme === 'basic') {
      return credentials
        ? {
            header: basicHeader(credentials),
            description: `basic credentials of user "${credentials.username}"`,
          }
        : { description: 'no credentials' };
    }
    const key = this.key(host, scopes);
    const cached = this.tokens.get(key);
    const who = credentials ? `user "${credentials.username}"` : 'anonymous';
    const description = `bearer token (${who}, scope ${scopes.join(' ')})`;
    if (cached && cached.expiresAt > this.options.now())
      return { header: `Bearer ${cached.token}`, description };
    let inflight = this.pending.get(key);
    if (!inflight) {
      // Shared by concurrent callers, so no caller's AbortSignal governs it; the timeout bounds it.
      const realm = challenge.params.realm;
      if (!realm)
        throw new FactoryError('UPSTREAM_AUTH', `registry ${host} sent a Bearer challenge without realm`);
      const wanted = [...new Set([...scopes, ...(this.extraScopes.get(key) ?? [])])];
      inflight = requestToken(
        this.options.fetch,
        {
          realm,
          ...(challenge.params.service === undefined ? {} : { service: challenge.params.service }),
          scopes: wanted,
          ...(credentials ? { credentials } : {}),
          registry: host,
          timeoutMs: this.options.timeoutMs,
          userAgent: this.options.userAgent,
        },
        this.options.now,
      ).finally(() => this.pending.delete(key));
      this.pending.set(key, inflight);
    }
    const token = await inflight;
    this.tokens.set(key, token);
    return { header: `Bearer ${token.token}`, description };
  }

  /**
   * Records the challenge of a 401 so the next attempt can authenticate. Throws UPSTREAM_AUTH
   * when nothing the client could send would help (no usable challenge, Basic without credentials).
   */
  async unauthorized(
    host: string,
    wwwAuthenticate: string | null,
    scopes: readonly string[],
    what: string,
  ): Promise<void> {
    const challenge = pickChallenge(parseWwwAuthenticate(wwwAuthenticate ?? ''));
    if (!challenge) {
      throw new FactoryError(
        'UPSTREAM_AUTH',
        `registry ${host} requires authentication for ${what} but sent no usable challenge (${wwwAuthenticate ?? 'none'})`,
      );
    }
    if (challenge.scheme === 'basic' && !(await this.options.credentials(host))) {
      throw new FactoryError(
        'UPSTREAM_AUTH',
        `registry ${host} requires credentials for ${what}; none are configured for this host`,
      );
    }
    this.challenges.set(host, challenge);
    const key = this.key(host, scopes);
    this.tokens.delete(key);
    // The registry names the scope it wants; asking for it too covers scopes we did not predict.
    const wanted = challenge.params.scope?.split(' ').filter((s) => s.length > 0) ?? [];
    if (wanted.length > 0) this.extraScopes.set(key, wanted);
  }
}
