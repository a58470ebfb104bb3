import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFactoryError } from '../../src/errors.js';
import {
  compareTalosVersions,
  coreVersion,
  parseTalosVersion,
  tryParseTalosVersion,
  versionAtLeast,
  versionWithoutV,
} from '../../src/profile/version.js';

describe('parseTalosVersion', () => {
  const valid: [string, string][] = [
    ['1.5.0', 'v1.5.0'],
    ['v1.5.0', 'v1.5.0'],
    ['v1.14.0-rc.1', 'v1.14.0-rc.1'],
    ['1.10.0-beta.1+build.5', 'v1.10.0-beta.1+build.5'],
    ['v1.0.0+001', 'v1.0.0+001'], // leading zeros allowed in build metadata
    ['0.0.0-0', 'v0.0.0-0'],
    ['1.2.3-alpha-1.x-y', 'v1.2.3-alpha-1.x-y'],
    ['1.2.3-a+b-c', 'v1.2.3-a+b-c'],
  ];
  for (const [input, tag] of valid) {
    it(`accepts ${JSON.stringify(input)} → ${tag}`, () => assert.equal(parseTalosVersion(input).tag, tag));
  }

  it('exposes the parts', () => {
    const v = parseTalosVersion('v1.14.0-rc.1+g1');
    assert.deepEqual(
      { major: v.major, minor: v.minor, patch: v.patch, pre: v.prerelease, build: v.build },
      { major: 1, minor: 14, patch: 0, pre: ['rc', '1'], build: ['g1'] },
    );
    assert.equal(versionWithoutV(v), '1.14.0-rc.1+g1');
    assert.equal(coreVersion(v).tag, 'v1.14.0');
  });

  const invalid: [string, RegExp][] = [
    ['', /version string is empty/],
    ['v', /version string is empty/],
    ['vv1.5.0', /major version "v1" is not a number/],
    ['1.5', /expected MAJOR\.MINOR\.PATCH/],
    ['1.5.0.1', /expected MAJOR\.MINOR\.PATCH/],
    ['01.5.0', /major version "01" has a leading zero/],
    ['1.05.0', /minor version "05" has a leading zero/],
    ['1.5.x', /patch version "x" is not a number/],
    ['1.5.0-', /pre-release has an empty identifier/],
    ['1.5.0-rc..1', /pre-release has an empty identifier/],
    ['1.5.0-rc.01', /pre-release identifier "01" has a leading zero/],
    ['1.5.0+', /build metadata has an empty identifier/],
    ['1.5.0+a+b', /build metadata identifier "a\+b" has characters/],
    ['1.5.0-r_c', /pre-release identifier "r_c" has characters/],
    [' 1.5.0', /is not a number/],
    ['1.5.0\n', /is not a number/],
    ['99999999999999999.0.0', /too large/],
    ['latest', /expected MAJOR/],
  ];
  for (const [input, reason] of invalid) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseTalosVersion(input),
        (e: unknown) =>
          isFactoryError(e, 'VERSION_INVALID') &&
          e.message.startsWith(`invalid Talos version ${JSON.stringify(input)}: `) &&
          reason.test(e.message),
      );
      assert.equal(tryParseTalosVersion(input), undefined);
    });
  }
});

describe('compareTalosVersions', () => {
  const ascending = [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-alpha.beta',
    '1.0.0-beta',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0',
    '1.2.0',
    '1.10.0-alpha.0',
    '1.10.0',
    '1.10.1',
    '2.0.0',
  ];
  it('orders by semver precedence (numeric < alphanumeric, release > pre-release)', () => {
    for (let i = 0; i < ascending.length; i++) {
      for (let j = 0; j < ascending.length; j++) {
        const got = compareTalosVersions(parseTalosVersion(ascending[i]!), parseTalosVersion(ascending[j]!));
        assert.equal(got, Math.sign(i - j), `${ascending[i]} vs ${ascending[j]}`);
      }
    }
  });

  it('ignores build metadata and compares huge numeric identifiers exactly', () => {
    assert.equal(compareTalosVersions(parseTalosVersion('1.0.0+a'), parseTalosVersion('1.0.0+b')), 0);
    assert.equal(
      compareTalosVersions(
        parseTalosVersion('1.0.0-99999999999999999999'),
        parseTalosVersion('1.0.0-99999999999999999998'),
      ),
      1,
    );
  });

  it('versionAtLeast', () => {
    assert.equal(versionAtLeast(parseTalosVersion('1.6.3'), '1.6.3'), true);
    assert.equal(versionAtLeast(parseTalosVersion('1.6.3-rc.0'), '1.6.3'), false);
    assert.equal(versionAtLeast(parseTalosVersion('1.6.2'), '1.6.3'), false);
  });
});
