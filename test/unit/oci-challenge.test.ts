// WWW-Authenticate parsing as sent by distribution, ghcr.io and Basic-auth registries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWwwAuthenticate, pickChallenge } from '../../src/oci/index.js';

test('distribution bearer challenge with scope and error', () => {
  const header =
    'Bearer realm="http://127.0.0.1:1234/token",service="registry",scope="repository:a/b:pull,push",error="insufficient_scope"';
  assert.deepEqual(parseWwwAuthenticate(header), [
    {
      scheme: 'bearer',
      params: {
        realm: 'http://127.0.0.1:1234/token',
        service: 'registry',
        scope: 'repository:a/b:pull,push',
        error: 'insufficient_scope',
      },
    },
  ]);
});

test('ghcr.io style challenge', () => {
  const [c] = parseWwwAuthenticate(
    'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:siderolabs/imager:pull"',
  );
  assert.equal(c?.params.scope, 'repository:siderolabs/imager:pull');
});

test('basic challenge, unquoted values, escapes, several challenges', () => {
  assert.deepEqual(parseWwwAuthenticate('Basic realm="Registry Realm"'), [
    { scheme: 'basic', params: { realm: 'Registry Realm' } },
  ]);
  const many = parseWwwAuthenticate('Negotiate abc==, Basic realm=simple, Bearer realm="r\\"q", service=s');
  assert.deepEqual(
    many.map((c) => c.scheme),
    ['negotiate', 'basic', 'bearer'],
  );
  assert.deepEqual(many[1]?.params, { realm: 'simple' });
  assert.deepEqual(many[2]?.params, { realm: 'r"q', service: 's' });
  assert.equal(pickChallenge(many)?.scheme, 'bearer');
  assert.equal(pickChallenge(parseWwwAuthenticate('Negotiate x')), undefined);
  assert.deepEqual(parseWwwAuthenticate(''), []);
});
