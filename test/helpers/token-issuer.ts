/**
 * A tiny bearer-token service for distribution's `auth.token` mode, for tests. It signs ES256
 * JWTs with a throwaway key whose self-signed certificate (made with the `openssl` CLI) is the
 * registry's `rootcertbundle`; each token carries the certificate in its `x5c` header, which is
 * how distribution 2.8 finds the verification key (the alternative, `kid`, must be a libtrust
 * fingerprint). Claims follow distribution 2.8: `iss`, `aud` (a single string = service),
 * `exp`/`nbf`/`iat`, `access: [{type, name, actions}]`.
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One requested scope, e.g. `repository:foo/bar:pull,push`. */
export interface RequestedScope {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/** Decides which of the requested actions `account` (undefined = anonymous) gets. */
export type TokenPolicy = (account: string | undefined, scope: RequestedScope) => readonly string[];

/** A token request as the issuer saw it. */
export interface IssuedTokenLog {
  readonly account: string | undefined;
  readonly service: string | null;
  readonly scopes: readonly string[];
  readonly granted: readonly RequestedScope[];
  readonly status: number;
}

/** Options of {@link startTokenIssuer}. */
export interface TokenIssuerOptions {
  /** Directory for key and certificate files. */
  readonly dir: string;
  /** Valid username → password. */
  readonly users: Readonly<Record<string, string>>;
  readonly service?: string;
  readonly issuer?: string;
  /** Default: anonymous may pull anything; known users may do anything. */
  readonly policy?: TokenPolicy;
  /** Token lifetime in seconds (default 300). */
  readonly lifetimeSeconds?: number;
}

/** A running token issuer. */
export interface TokenIssuer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM certificate to configure as the registry's `rootcertbundle`. */
  readonly certPath: string;
  /** Every token request, in order. */
  readonly requests: IssuedTokenLog[];
  stop(): Promise<void>;
}

/** Anonymous pulls anything; authenticated users get every requested action. */
export const defaultTokenPolicy: TokenPolicy = (account, scope) =>
  account === undefined ? scope.actions.filter((a) => a === 'pull') : scope.actions;

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** Parses `type:name:actions` (the name may itself contain colons, e.g. a port). */
export function parseScope(scope: string): RequestedScope | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first === -1 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

function basicAuth(req: IncomingMessage): { user: string; password: string } | undefined {
  const header = req.headers.authorization;
  if (!header?.toLowerCase().startsWith('basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function signJwt(key: KeyObject, certDerB64: string, claims: object): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [certDerB64] }));
  const payload = b64url(JSON.stringify(claims));
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${header}.${payload}.${b64url(signature)}`;
}

/** Generates a P-256 key and a self-signed certificate with the openssl CLI. */
async function makeKeyAndCert(
  dir: string,
): Promise<{ key: KeyObject; certPath: string; certDerB64: string }> {
  const keyPath = join(dir, 'token-key.pem');
  const certPath = join(dir, 'token-cert.pem');
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyPath]);
  await run('openssl', [
    'req',
    '-new',
    '-x509',
    '-key',
    keyPath,
    '-out',
    certPath,
    '-days',
    '2',
    '-subj',
    '/CN=image-factory-test-token-issuer',
  ]);
  const pem = await readFile(certPath, 'utf8');
  const certDerB64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return { key: createPrivateKey(await readFile(keyPath)), certPath, certDerB64 };
}

/** Starts the issuer on 127.0.0.1 (free port). */
export async function startTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const service = options.service ?? 'image-factory-test-registry';
  const issuer = options.issuer ?? 'image-factory-test-issuer';
  const policy = options.policy ?? defaultTokenPolicy;
  const lifetime = options.lifetimeSeconds ?? 300;
  const { key, certPath, certDerB64 } = await makeKeyAndCert(options.dir);
  const requests: IssuedTokenLog[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://issuer');
    const scopes = url.searchParams
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter(Boolean);
    const reply = (status: number, body: object, account?: string, granted: RequestedScope[] = []): void => {
      requests.push({ account, service: url.searchParams.get('service'), scopes, granted, status });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname !== '/token') return reply(404, { details: 'not found' });
    if (url.searchParams.get('service') !== service)
      return reply(400, { details: `unknown service ${url.searchParams.get('service')}` });
    const creds = basicAuth(req);
    if (req.headers.authorization && (!creds || options.users[creds.user] !== creds.password)) {
      return reply(401, { details: 'invalid username or password' }, creds?.user);
    }
    const account = creds?.user;
    const granted: RequestedScope[] = [];
    for (const s of scopes) {
      const parsed = parseScope(s);
      if (!parsed) continue;
      const actions = policy(account, parsed).filter((a) => parsed.actions.includes(a));
      if (actions.length > 0) granted.push({ ...parsed, actions });
    }
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt(key, certDerB64, {
      iss: issuer,
      sub: account ?? '',
      aud: service,
      exp: now + lifetime,
      nbf: now - 5,
      iat: now,
      jti: randomUUID(),
      access: granted,
    });
    reply(
      200,
      { token, access_token: token, expires_in: lifetime, issued_at: new Date(now * 1000).toISOString() },
      account,
      granted,
    );
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
