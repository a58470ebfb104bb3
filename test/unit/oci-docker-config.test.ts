// Credentials from docker config.json: auth field, username/password, URL-form keys, errors.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isFactoryError } from '../../src/errors.js';
import {
  chainCredentials,
  dockerConfigCredentials,
  dockerConfigPath,
  parseDockerConfig,
  staticCredentials,
} from '../../src/oci/index.js';

test('auth field, username/password and URL-form keys', () => {
  const text = JSON.stringify({
    auths: {
      'ghcr.io': { auth: Buffer.from('me:tok:en').toString('base64') },
      'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') },
      'http://127.0.0.1:5000/v2/': { username: 'u', password: 'p' },
      'empty.example': {},
    },
  });
  const map = parseDockerConfig(text, 'cfg.json');
  assert.deepEqual(map.get('ghcr.io'), { username: 'me', password: 'tok:en' });
  assert.deepEqual(map.get('docker.io'), { username: 'hub', password: 'pw' });
  assert.deepEqual(map.get('127.0.0.1:5000'), { username: 'u', password: 'p' });
  assert.equal(map.has('empty.example'), false);
});

test('malformed files are CONFIG_INVALID naming the file', () => {
  assert.throws(
    () => parseDockerConfig('{', '/x/config.json'),
    (e: unknown) => isFactoryError(e, 'CONFIG_INVALID') && e.message.includes('/x/config.json'),
  );
  const bad = JSON.stringify({ auths: { h: { auth: Buffer.from('nocolon').toString('base64') } } });
  assert.throws(
    () => parseDockerConfig(bad, 'c.json'),
    (e: unknown) => isFactoryError(e, 'CONFIG_INVALID') && e.message.includes('auths["h"]'),
  );
});

test('path resolution: explicit, DOCKER_CONFIG, HOME', () => {
  assert.equal(dockerConfigPath({ path: '/a/b.json' }), '/a/b.json');
  assert.equal(dockerConfigPath({ env: { DOCKER_CONFIG: '/cfg' } }), '/cfg/config.json');
  assert.equal(dockerConfigPath({ env: { HOME: '/home/x' } }), '/home/x/.docker/config.json');
});

test('provider reads lazily; a missing file means anonymous; chain falls through', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'docker-config-'));
  try {
    const missing = dockerConfigCredentials({ env: { DOCKER_CONFIG: join(dir, 'nope') } });
    assert.equal(await missing('ghcr.io'), undefined);
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ auths: { 'ghcr.io': { username: 'a', password: 'b' } } }),
    );
    const provider = dockerConfigCredentials({ env: { DOCKER_CONFIG: dir } });
    assert.deepEqual(await provider('ghcr.io'), { username: 'a', password: 'b' });
    const chained = chainCredentials(
      missing,
      staticCredentials({ 'quay.io': { username: 'q', password: 'r' } }),
      provider,
    );
    assert.deepEqual(await chained('quay.io'), { username: 'q', password: 'r' });
    assert.deepEqual(await chained('ghcr.io'), { username: 'a', password: 'b' });
    assert.equal(await chained('other.io'), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
