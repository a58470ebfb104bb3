// Authentication against the real registry: htpasswd (Basic, credentials from a docker
// config.json) and distribution's token auth with an in-process token issuer.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  buildImageManifest,
  dockerConfigCredentials,
  EMPTY_CONFIG_DESCRIPTOR,
  EMPTY_JSON,
  OciClient,
  type OciClientOptions,
  sha256Digest,
  staticCredentials,
} from '../../src/oci/index.js';
import { type RunningRegistry, startRegistry } from '../helpers/registry.js';
import { defaultTokenPolicy, type TokenPolicy } from '../helpers/token-issuer.js';
import { expectCode } from '../helpers/assert-error.js';

const TIMEOUT = { timeout: 30_000 };

function clientFor(registry: RunningRegistry, extra: OciClientOptions = {}): OciClient {
  return new OciClient({
    hosts: { [registry.host]: { insecure: true } },
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...extra,
  });
}

async function pushSmallImage(client: OciClient, repo: string, tag: string): Promise<string> {
  await client.pushBlob(repo, EMPTY_JSON);
  const built = buildImageManifest({ config: EMPTY_CONFIG_DESCRIPTOR, layers: [] });
  return (await client.pushManifest(repo, tag, built.bytes, built.mediaType)).digest;
}

describe('htpasswd (Basic) auth', TIMEOUT, () => {
  let registry: RunningRegistry;
  let dir: string;

  before(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: { alice: 'correct horse', bob: 'b0b' } });
    dir = await mkdtemp(join(tmpdir(), 'oci-auth-'));
  });
  after(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('credentials from DOCKER_CONFIG config.json (auth field) push and pull', async () => {
    const configDir = join(dir, 'docker');
    await rm(configDir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(configDir, { recursive: true }));
    const auth = Buffer.from('alice:correct horse').toString('base64');
    await writeFile(join(configDir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
    const client = clientFor(registry, {
      credentials: dockerConfigCredentials({ env: { DOCKER_CONFIG: configDir } }),
    });
    const digest = await pushSmallImage(client, `${registry.host}/private/app`, 'v1');
    assert.equal((await client.resolve(`${registry.host}/private/app:v1`)).digest, digest);
    assert.deepEqual(await client.listTags(`${registry.host}/private/app`), ['v1']);
  });

  test('credentials from an explicit config.json path (username/password fields)', async () => {
    const path = join(dir, 'explicit.json');
    await writeFile(
      path,
      JSON.stringify({ auths: { [`http://${registry.host}`]: { username: 'bob', password: 'b0b' } } }),
    );
    const client = clientFor(registry, { credentials: dockerConfigCredentials({ path }) });
    await pushSmallImage(client, `${registry.host}/private/bob`, 'v1');
  });

  test('wrong password → UPSTREAM_AUTH naming registry and user', async () => {
    const client = clientFor(registry, {
      credentials: staticCredentials({ [registry.host]: { username: 'alice', password: 'wrong' } }),
    });
    await expectCode(
      client.getManifest(`${registry.host}/private/app`, 'v1'),
      'UPSTREAM_AUTH',
      registry.host,
      'alice',
      'HTTP 401',
    );
  });

  test('no credentials → UPSTREAM_AUTH saying none are configured', async () => {
    await expectCode(
      clientFor(registry).getManifest(`${registry.host}/private/app`, 'v1'),
      'UPSTREAM_AUTH',
      registry.host,
      'none are configured',
    );
  });
});

describe('token auth (distribution auth.token + test issuer)', TIMEOUT, () => {
  let registry: RunningRegistry;
  let user: OciClient;
  // When set, the issuer grants nothing once (a token the registry will reject).
  let denyNext = false;

  before(async () => {
    const policy: TokenPolicy = (account, scope) => {
      if (denyNext) {
        denyNext = false;
        return [];
      }
      return defaultTokenPolicy(account, scope);
    };
    registry = await startRegistry({ auth: 'token', users: { pusher: 'push-secret' }, tokenPolicy: policy });
    user = clientFor(registry, {
      credentials: staticCredentials({ [registry.host]: { username: 'pusher', password: 'push-secret' } }),
    });
  });
  after(async () => {
    await registry?.stop();
  });

  test('credentialed token flow pushes; tokens are cached per scope', async () => {
    const issuer = registry.tokenIssuer!;
    const before = issuer.requests.length;
    const digest = await pushSmallImage(user, `${registry.host}/siderolabs/imager`, 'v1.10.0');
    const issued = issuer.requests.slice(before);
    assert.ok(issued.length >= 1);
    assert.ok(
      issued.every((r) => r.account === 'pusher' && r.status === 200 && r.service === issuer.service),
    );
    assert.ok(issued.some((r) => r.scopes.includes('repository:siderolabs/imager:pull,push')));
    // The push (HEAD, POST, PUT, manifest PUT) needed one push-scope token, not one per request.
    assert.equal(issued.filter((r) => r.scopes.includes('repository:siderolabs/imager:pull,push')).length, 1);
    assert.equal((await user.resolve(`${registry.host}/siderolabs/imager:v1.10.0`)).digest, digest);
  });

  test('anonymous token flow pulls (as from ghcr.io public images)', async () => {
    const anon = clientFor(registry);
    const issuer = registry.tokenIssuer!;
    const before = issuer.requests.length;
    const got = await anon.getManifest(`${registry.host}/siderolabs/imager`, 'v1.10.0');
    assert.equal(got.size > 0, true);
    await anon.getManifest(`${registry.host}/siderolabs/imager`, got.digest);
    const issued = issuer.requests.slice(before);
    assert.equal(issued.length, 1, 'second pull reuses the cached token');
    assert.equal(issued[0]?.account, undefined);
    assert.deepEqual(issued[0]?.scopes, ['repository:siderolabs/imager:pull']);
  });

  test('anonymous push is refused with UPSTREAM_AUTH after one token refresh', async () => {
    const anon = clientFor(registry);
    await expectCode(
      anon.pushBlob(`${registry.host}/siderolabs/imager`, Buffer.from('nope')),
      'UPSTREAM_AUTH',
      registry.host,
      'HTTP 401',
    );
  });

  test('wrong password is refused by the token service', async () => {
    const bad = clientFor(registry, {
      credentials: staticCredentials({ [registry.host]: { username: 'pusher', password: 'nope' } }),
    });
    await expectCode(
      bad.getManifest(`${registry.host}/siderolabs/imager`, 'v1.10.0'),
      'UPSTREAM_AUTH',
      'token service',
      'pusher',
      'HTTP 401',
    );
  });

  test('cross-repository mount asks for pull on the source in the same token', async () => {
    const data = Buffer.from('shared layer');
    await user.pushBlob(`${registry.host}/mount/src`, data);
    const issuer = registry.tokenIssuer!;
    const before = issuer.requests.length;
    const res = await user.pushBlob(`${registry.host}/mount/dst`, data, { mountFrom: 'mount/src' });
    assert.equal(res.outcome, 'mounted');
    const scopes = issuer.requests.slice(before).flatMap((r) => r.scopes);
    assert.ok(scopes.includes('repository:mount/src:pull'), scopes.join(' '));
    assert.deepEqual(await user.getBlobBytes(`${registry.host}/mount/dst`, sha256Digest(data)), data);
  });

  test('a token the registry rejects is dropped and fetched again once', async () => {
    await pushSmallImage(user, `${registry.host}/refresh/app`, 'v1');
    // A client that already knows the challenge but holds no token for this repository.
    const reader = clientFor(registry, {
      credentials: staticCredentials({ [registry.host]: { username: 'pusher', password: 'push-secret' } }),
    });
    await reader.getManifest(`${registry.host}/siderolabs/imager`, 'v1.10.0');
    const issuer = registry.tokenIssuer!;
    const before = issuer.requests.length;
    denyNext = true;
    const got = await reader.getManifest(`${registry.host}/refresh/app`, 'v1');
    assert.ok(got.size > 0);
    const issued = issuer.requests.slice(before);
    assert.equal(issued.length, 2);
    assert.deepEqual(issued[0]?.granted, []);
    assert.deepEqual(
      issued[1]?.granted.map((g) => g.actions),
      [['pull']],
    );
  });

  test('catalog needs the registry:catalog:* scope, which the challenge names', async () => {
    const repos = await user.listRepositories(registry.host);
    assert.ok(repos.includes('siderolabs/imager'));
    assert.ok(registry.tokenIssuer!.requests.some((r) => r.scopes.includes('registry:catalog:*')));
  });
});
