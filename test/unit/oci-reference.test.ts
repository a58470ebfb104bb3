// Image reference parsing follows the distribution grammar (registry detection, tags, digests).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isFactoryError } from '../../src/errors.js';
import { formatReference, manifestReference, parseReference, parseRepository } from '../../src/oci/index.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  test('registry, nested path and tag', () => {
    assert.deepEqual(parseReference('ghcr.io/siderolabs/imager:v1.10.0'), {
      registry: 'ghcr.io',
      repository: 'siderolabs/imager',
      tag: 'v1.10.0',
    });
  });
  test('host with port is a registry; its colon is not a tag', () => {
    assert.deepEqual(parseReference('127.0.0.1:5000/siderolabs/installer'), {
      registry: '127.0.0.1:5000',
      repository: 'siderolabs/installer',
      tag: 'latest',
    });
    assert.deepEqual(parseReference('localhost/foo:1'), {
      registry: 'localhost',
      repository: 'foo',
      tag: '1',
    });
  });
  test('digest, with and without tag', () => {
    assert.deepEqual(parseReference(`ghcr.io/a/b@${D}`), {
      registry: 'ghcr.io',
      repository: 'a/b',
      digest: D,
    });
    const both = parseReference(`ghcr.io/a/b:v1@${D}`);
    assert.equal(both.tag, 'v1');
    assert.equal(manifestReference(both), D);
  });
  test('docker hub defaults', () => {
    assert.deepEqual(parseReference('alpine'), {
      registry: 'docker.io',
      repository: 'library/alpine',
      tag: 'latest',
    });
    assert.deepEqual(parseReference('siderolabs/talos:v1'), {
      registry: 'docker.io',
      repository: 'siderolabs/talos',
      tag: 'v1',
    });
    assert.deepEqual(parseReference('foo/bar', { defaultRegistry: 'registry.local:5000' }), {
      registry: 'registry.local:5000',
      repository: 'foo/bar',
      tag: 'latest',
    });
  });
  test('rejects malformed references naming the problem', () => {
    const cases: [string, string][] = [
      ['ghcr.io/Siderolabs/imager', 'Siderolabs'],
      ['ghcr.io/a/b:', 'tag ""'],
      ['ghcr.io/a/b@sha256:abc', 'digest'],
      ['ghcr.io/a//b', 'component ""'],
      ['ghcr.io:99999/a', 'registry host'],
      ['ghcr.io/a/b:-bad', 'tag "-bad"'],
    ];
    for (const [input, fragment] of cases) {
      assert.throws(
        () => parseReference(input),
        (e: unknown) =>
          isFactoryError(e, 'CONFIG_INVALID') && e.message.includes(input) && e.message.includes(fragment),
        input,
      );
    }
  });
  test('parseRepository refuses tags and digests', () => {
    assert.deepEqual(parseRepository('127.0.0.1:5000/a/b'), {
      registry: '127.0.0.1:5000',
      repository: 'a/b',
    });
    assert.throws(
      () => parseRepository('ghcr.io/a/b:v1'),
      (e: unknown) => isFactoryError(e, 'CONFIG_INVALID'),
    );
    assert.throws(
      () => parseRepository(`ghcr.io/a/b@${D}`),
      (e: unknown) => isFactoryError(e, 'CONFIG_INVALID'),
    );
  });
  test('format(parse(x)) round-trips generated references', () => {
    const component = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)?$/);
    const ref = fc.record({
      host: fc.constantFrom('ghcr.io', '127.0.0.1:5000', 'registry.example.com:443', 'localhost'),
      path: fc.array(component, { minLength: 1, maxLength: 4 }),
      tag: fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/), { nil: undefined }),
      digest: fc.option(
        fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`),
        { nil: undefined },
      ),
    });
    fc.assert(
      fc.property(ref, ({ host, path, tag, digest }) => {
        const text = `${host}/${path.join('/')}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
        const parsed = parseReference(text);
        assert.equal(parsed.registry, host);
        assert.equal(parsed.repository, path.join('/'));
        assert.equal(parsed.digest, digest);
        assert.equal(
          formatReference(parsed),
          tag === undefined && digest === undefined ? `${text}:latest` : text,
        );
      }),
    );
  });
});
