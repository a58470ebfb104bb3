import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deriveQuirks,
  firmwarePath,
  installerBaseRepository,
  kernelModulesPath,
  QUIRK_TABLE,
  type QuirkValues,
} from '../../src/profile/quirks.js';
import { parseTalosVersion } from '../../src/profile/version.js';

const q = (v: string): QuirkValues => deriveQuirks(parseTalosVersion(v));

/** [quirk, last version where it is `before`, first version where it is `after`]. */
const BOOLEAN_GATES: [keyof QuirkValues, string, string, boolean][] = [
  ['supportsResetGrubOption', '1.3.7', '1.4.0', true],
  ['supportsUKI', '1.4.9', '1.5.0', true],
  ['supportsMultidoc', '1.4.9', '1.5.0', true],
  ['supportsCompressedMeta', '1.6.2', '1.6.3', true],
  ['supportsOverlay', '1.6.9', '1.7.0', true],
  ['useZstdCompression', '1.7.9', '1.8.0', true],
  ['supportsISOLabel', '1.7.9', '1.8.0', true],
  ['metalConsoleTTYS0', '1.7.9', '1.8.0', false],
  ['supportsHaltIfInstalled', '1.7.9', '1.8.0', true],
  ['skipDataPartitions', '1.7.9', '1.8.0', true],
  ['supportsSELinux', '1.9.9', '1.10.0', true],
  ['useSDBootForUEFI', '1.9.9', '1.10.0', true],
  ['usrMerge', '1.9.9', '1.10.0', true],
  ['supportsUKIProfiles', '1.9.9', '1.10.0', true],
  ['supportsUnifiedInstaller', '1.9.9', '1.10.0', true],
  ['ukiNativeSectionOrder', '1.9.9', '1.10.0', true],
  ['pcrSha1Bank', '1.5.9', '1.6.0', false],
  ['supportsIMA', '1.10.99', '1.11.0', false],
  ['supportsEmbeddedConfig', '1.11.9', '1.12.0', true],
  ['moduleSigEnforce', '1.11.9', '1.12.0', true],
  ['isoSupportsBootloader', '1.11.9', '1.12.0', true],
  ['procMemOverrideNever', '1.12.9', '1.13.0', true],
  ['supportsFactoryTalosctlDownload', '1.10.9', '1.11.0', true],
  ['dropInitOnAlloc', '1.13.9', '1.14.0', true],
  ['nvmeIoTimeoutAWSOnly', '1.13.9', '1.14.0', true],
  ['forceLockdownConfidentiality', '1.13.9', '1.14.0', false],
];

describe('deriveQuirks', () => {
  for (const [name, before, after, afterValue] of BOOLEAN_GATES) {
    it(`${name}: ${before} → ${!afterValue}, ${after} → ${afterValue}`, () => {
      assert.equal(q(before)[name], !afterValue);
      assert.equal(q(after)[name], afterValue);
    });
  }

  it('every boolean quirk in the table is covered by the gate list above', () => {
    const booleans = Object.entries(QUIRK_TABLE)
      .filter(([, rule]) => typeof rule.below === 'boolean')
      .map(([name]) => name)
      .sort();
    assert.deepEqual(booleans, BOOLEAN_GATES.map(([name]) => name).sort());
  });

  it('strips the pre-release: 1.10.0-beta.1 counts as 1.10.0, 1.11.0-alpha.3 as 1.11.0', () => {
    assert.equal(q('1.10.0-beta.1').supportsSELinux, true);
    assert.equal(q('1.10.0-beta.1').supportsIMA, true);
    assert.equal(q('1.11.0-alpha.0').supportsIMA, false);
    assert.equal(q('1.11.0-alpha.0').supportsFactoryTalosctlDownload, true);
    assert.equal(deriveQuirks(parseTalosVersion('v1.14.0-rc.1+x')).version?.tag, 'v1.14.0');
  });

  it('IMA is on up to 1.10.99 exactly like upstream LTE(1.10.99)', () => {
    assert.equal(q('1.10.99').supportsIMA, true);
    assert.equal(q('1.10.100').supportsIMA, false);
  });

  it('numeric quirks: BOOT size, XFS config, AG floor', () => {
    assert.equal(q('1.10.7').bootPartitionMiB, 1000);
    assert.equal(q('1.11.0').bootPartitionMiB, 2000);
    assert.deepEqual(
      ['1.5.0', '1.7.9', '1.8.0', '1.9.9', '1.10.0', '1.12.9', '1.13.0', '1.4.0'].map(
        (v) => q(v).xfsMkfsConfig,
      ),
      [
        'lts_6.1.conf',
        'lts_6.1.conf',
        'lts_6.6.conf',
        'lts_6.6.conf',
        'lts_6.12.conf',
        'lts_6.12.conf',
        'lts_6.18.conf',
        'lts_6.1.conf',
      ],
    );
    assert.equal(q('1.13.9').xfsMinAllocationGroupBytes, 0);
    assert.equal(q('1.14.0').xfsMinAllocationGroupBytes, 64 * 1024 ** 3);
  });

  it('derived paths and installer base', () => {
    assert.equal(kernelModulesPath(q('1.9.0')), '/lib/modules');
    assert.equal(kernelModulesPath(q('1.10.0')), '/usr/lib/modules');
    assert.equal(firmwarePath(q('1.9.0')), '/lib/firmware');
    assert.equal(firmwarePath(q('1.10.0')), '/usr/lib/firmware');
    assert.equal(installerBaseRepository(q('1.9.0')), 'installer');
    assert.equal(installerBaseRepository(q('1.10.0')), 'installer-base');
  });

  it('unknown version: latest Talos, except sd-boot, metal ttyS0, IMA and lockdown (false)', () => {
    const u = deriveQuirks(undefined);
    assert.equal(u.version, undefined);
    const falseWhenUnknown = [
      'useSDBootForUEFI',
      'metalConsoleTTYS0',
      'supportsIMA',
      'forceLockdownConfidentiality',
    ];
    for (const [name, , , afterValue] of BOOLEAN_GATES) {
      const expected = falseWhenUnknown.includes(name) ? false : afterValue;
      assert.equal(u[name], expected, name);
    }
    assert.equal(u.bootPartitionMiB, 2000);
    assert.equal(u.xfsMkfsConfig, 'lts_6.18.conf');
  });
});
