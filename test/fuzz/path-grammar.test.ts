import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isFactoryError } from '../../src/errors.js';
import type {
  Arch,
  AssetKind,
  AssetRequest,
  Compression,
  DiskFormat,
} from '../../src/profile/build-request.js';
import { contentDisposition, contentTypeFor } from '../../src/profile/content-type.js';
import {
  formatAssetPath,
  parseAssetPath,
  PATH_ERROR_PREFIX,
  splitAssetSuffixes,
} from '../../src/profile/path.js';
import { diskImageDefaults, findPlatform, PLATFORMS } from '../../src/profile/platforms.js';

/** Parses, asserting the only possible failure is a PATH_INVALID FactoryError with the upstream prefix. */
function parseOrPathError(path: string): AssetRequest | undefined {
  try {
    return parseAssetPath(path);
  } catch (e) {
    assert.ok(
      isFactoryError(e, 'PATH_INVALID'),
      `unexpected error for ${JSON.stringify(path)}: ${String(e)}`,
    );
    assert.ok(e.message.startsWith(PATH_ERROR_PREFIX), e.message);
    return undefined;
  }
}

const TOKENS = [
  'metal',
  'aws',
  'digital',
  'ocean',
  'digital-ocean',
  'packet',
  'equinixMetal',
  '-',
  'amd64',
  'arm64',
  'x86_64',
  'i386',
  'secureboot',
  '-secureboot',
  'installer',
  '-installer-',
  'kernel-',
  'cmdline-',
  'initramfs-',
  '.iso',
  '-uki.efi',
  '.tar',
  '.tar.gz',
  '.gz',
  '.xz',
  '.zst',
  '.raw',
  '.qcow2',
  '.vhd',
  '.ova',
  '.sha256',
  '.sigstore.json',
  '"',
  '\\',
  '\n',
  '\u00e9',
  '\u{1F600}',
];

/** Strings that look like paths: mostly grammar tokens, some arbitrary text. */
const pathLike = fc
  .array(
    fc.oneof(
      { arbitrary: fc.constantFrom(...TOKENS), weight: 6 },
      { arbitrary: fc.string({ maxLength: 3 }), weight: 1 },
    ),
    { maxLength: 7 },
  )
  .map((parts) => parts.join(''));

const ARCH_SPELLINGS: Record<Arch, readonly string[]> = {
  amd64: ['amd64', 'x86_64', 'i386'],
  arm64: ['arm64'],
};
const kinds: readonly AssetKind[] = ['kernel', 'cmdline', 'initramfs', 'iso', 'uki', 'installer', 'image'];
const formats: readonly DiskFormat[] = ['raw', 'qcow2', 'vhd', 'ova'];
const compressions: readonly Compression[] = ['none', 'tar.gz', 'gz', 'xz', 'zst'];

const validRequest = fc
  .record({
    kind: fc.constantFrom(...kinds),
    platform: fc.constantFrom(...PLATFORMS.map((p) => p.name)),
    arch: fc.constantFrom<Arch>('amd64', 'arm64'),
    secureBoot: fc.boolean(),
    diskFormat: fc.constantFrom(...formats),
    compression: fc.constantFrom(...compressions),
    spelling: fc.nat(2),
  })
  .map(({ kind, platform, arch, secureBoot, diskFormat, compression, spelling }) => {
    let req: AssetRequest;
    if (kind === 'kernel' || kind === 'initramfs') req = { kind, platform: 'metal', arch, secureBoot: false };
    else if (kind === 'image') {
      const { diskSizeMiB, formatOptions } = diskImageDefaults(
        findPlatform(platform),
        diskFormat === 'qcow2' ? 'cluster_size=8k' : '',
      );
      req = {
        kind,
        platform,
        arch,
        secureBoot,
        image: { diskFormat, compression, diskSizeMiB, formatOptions },
      };
    } else req = { kind, platform, arch, secureBoot };
    const spellings = ARCH_SPELLINGS[arch];
    const archText = spellings[spelling % spellings.length]!;
    // Spell the arch as an alias where the canonical path has it as a whole token.
    const path = formatAssetPath(req).replace(new RegExp(`(^|-)${arch}(?=$|[-.])`), `$1${archText}`);
    return { req, path };
  });

/** A valid path with one random edit: near misses exercise every rule's error branch. */
const mutatedValid = fc
  .tuple(validRequest, fc.nat(), fc.nat(3), fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 2 })))
  .map(([{ path }, at, op, text]) => {
    const i = at % (path.length + 1);
    if (op === 0) return path.slice(0, i) + text + path.slice(i); // insert
    if (op === 1) return path.slice(0, i) + path.slice(i + 1); // delete one char
    if (op === 2) return path.slice(0, i) + text + path.slice(i + text.length); // overwrite
    return path.slice(0, i); // truncate
  });

const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 40 }),
  pathLike,
  mutatedValid,
);

describe('path grammar (property)', () => {
  it('the random-string generator reaches both successes and every error kind', () => {
    const outcomes = new Set<string>();
    for (const path of fc.sample(anyString, { numRuns: 3000, seed: 42 })) {
      try {
        outcomes.add(parseAssetPath(path).kind);
      } catch (e) {
        outcomes.add(
          isFactoryError(e)
            ? e.message.slice(PATH_ERROR_PREFIX.length).split(':')[0]!.split(' "')[0]!
            : 'other',
        );
      }
    }
    for (const expected of [
      'image',
      'iso',
      'installer',
      'invalid profile path',
      'invalid architecture',
      'invalid platform-arch',
      'unknown platform',
    ]) {
      assert.ok(outcomes.has(expected), `never saw ${expected}: ${[...outcomes].join(', ')}`);
    }
    assert.ok(!outcomes.has('other'));
  });

  it('random strings: result or PATH_INVALID, never another error; results are canonical-stable', () => {
    fc.assert(
      fc.property(anyString, (path) => {
        const req = parseOrPathError(path);
        if (req === undefined) return;
        // Whatever parsed must format to a canonical path that parses to the same request.
        assert.deepEqual(parseAssetPath(formatAssetPath(req)), req);
        assert.ok(findPlatform(req.platform), `accepted unknown platform ${req.platform}`);
      }),
      { numRuns: 3000 },
    );
  });

  it('sidecar suffixes and headers never throw on arbitrary input', () => {
    fc.assert(
      fc.property(anyString, (path) => {
        const split = splitAssetSuffixes(path);
        assert.ok(path.startsWith(split.path));
        assert.match(contentTypeFor(split.path), /^application\//);
        const header = contentDisposition(path);
        assert.ok(header.startsWith('attachment; filename="'));
        assert.doesNotMatch(header, /[\r\n\0]/);
      }),
      { numRuns: 2000 },
    );
  });

  it('valid generated paths round-trip (including iPXE arch aliases)', () => {
    fc.assert(
      fc.property(validRequest, ({ req, path }) => {
        assert.deepEqual(parseAssetPath(path), req, path);
        assert.deepEqual(parseAssetPath(formatAssetPath(req)), req);
        assert.deepEqual(splitAssetSuffixes(`${path}.sha512`), {
          path,
          checksum: 'sha512',
          signature: false,
        });
      }),
      { numRuns: 2000 },
    );
  });
});
