/** Version offering policy (spec §1.3.3) and catalog parsing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseCatalogRef,
  parseDescriptions,
  parseImageDigests,
  parseOverlays,
  repositoryPath,
} from '../../src/release/catalog.js';
import { offeredVersions } from '../../src/release/versions.js';

describe('offeredVersions', () => {
  const policy = { minVersion: '1.2.0', broken: ['1.13.1'] };

  it('filters by minimum, broken list and tolerant parsing; sorts by semver', () => {
    const tags = [
      'v1.10.0',
      'v1.2.0',
      'v1.9.4',
      'v1.1.9',
      'latest',
      'v1.13.1',
      'v1.13.0',
      'sha256-abc.sig',
      '1.11.2',
      'v1.13.0+build.1',
    ];
    assert.deepEqual(offeredVersions(tags, policy), ['v1.2.0', 'v1.9.4', 'v1.10.0', 'v1.11.2', 'v1.13.0']);
  });

  it('keeps pre-releases only for the newest major.minor and only alpha|beta|rc.N', () => {
    const tags = [
      'v1.13.0',
      'v1.13.0-rc.1',
      'v1.14.0-alpha.0',
      'v1.14.0-beta.2',
      'v1.14.0-rc.1',
      'v1.14.0-rc',
      'v1.14.0-pre.1',
      'v1.14.0-rc.1.2',
      'v1.14.0-rc.x',
    ];
    assert.deepEqual(offeredVersions(tags, policy), [
      'v1.13.0',
      'v1.14.0-alpha.0',
      'v1.14.0-beta.2',
      'v1.14.0-rc.1',
    ]);
  });
});

describe('catalogs', () => {
  const d = 'sha256:' + 'a'.repeat(64);

  it('strips the upstream host from image-digests lines (errata E16)', () => {
    const list = parseImageDigests(
      `ghcr.io/siderolabs/amd-ucode:20230801@${d}\n\nlocalhost:5000/siderolabs/gvisor:1.0@${d}\n`,
    );
    assert.deepEqual(
      list.map((x) => [x.repository, x.tag, x.digest]),
      [
        ['siderolabs/amd-ucode', '20230801', d],
        ['siderolabs/gvisor', '1.0', d],
      ],
    );
    assert.equal(repositoryPath('siderolabs/x'), 'siderolabs/x');
    assert.throws(() => parseCatalogRef('not a ref', 'x'), /malformed catalog line/);
  });

  it('reads descriptions and overlays', () => {
    const m = parseDescriptions(
      `ghcr.io/siderolabs/a:1@${d}:\n  author: Sidero Labs\n  description: |\n    A thing.\n`,
    );
    assert.deepEqual(m.get(`ghcr.io/siderolabs/a:1@${d}`), {
      author: 'Sidero Labs',
      description: 'A thing.\n',
    });
    const o = parseOverlays(
      `overlays:\n  - name: rpi_generic\n    image: ghcr.io/siderolabs/sbc-raspberrypi:v0.1.0\n    digest: ${d}\n`,
    );
    assert.deepEqual(o, [
      { name: 'rpi_generic', image: 'ghcr.io/siderolabs/sbc-raspberrypi:v0.1.0', digest: d },
    ]);
  });
});
