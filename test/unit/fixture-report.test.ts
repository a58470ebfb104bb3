/** Unit tests for the boot-report parser (test/helpers/report.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReport } from '../helpers/report.js';
import { isFactoryError } from '../../src/errors.js';

const T = '\t';
const line = (...f: string[]): string => f.join(T);

const REPORT = [
  '[    2.079010] Run /init as init process',
  'fixture-init: started',
  'IFREPORT-BEGIN',
  line('arch', 'x86_64'),
  line('kver', '6.1.0-56-amd64'),
  line('cmdline', 'console=ttyS0 talos.platform=metal foo="a b"'),
  line('rootfs', 'ok'),
  line('modroot', 'usr/lib/modules'),
  line('base-kver', '6.1.0-56-amd64'),
  line('rootentry', '0.sqsh'),
  line('rootentry', 'extensions.yaml'),
  line('sqsh', '0.sqsh', '4096'),
  line('yaml', 'present'),
  line('layer', '0', '0.sqsh', 'hello', 'v1.0.0', 'mounted'),
  line('file', '0', '56', '/usr/local/bin/hello world'),
  line('link', '0', 'target.fw', '/usr/local/x.fw'),
  '[    3.100000] random kernel line that interleaved',
  line('layer', '1', 'modules.dep.sqsh', 'modules.dep', '6.1.0-56-amd64', 'mounted'),
  line('file', '1', '121', '/usr/lib/modules/6.1.0-56-amd64/modules.dep'),
  line('marker', 'schematic', 'abc123'),
  line('marker', 'flavor', 'def456'),
  line('layers', '2'),
  line('microcode', '896', 'aa', '/kernel/x86/microcode/AuthenticAMD.bin'),
  line('firmware', '54', 'bb', '/usr/lib/firmware/amd-ucode/LICENSE.amd-ucode'),
  line('firmware-link', 'rtl8125a-3.fw', '/lib/firmware/rtl_nic/rtl8125-current.fw'),
  line('moddep-layer', '1'),
  line('moddep', 'extras/vfat.ko: kernel/fs/fat/fat.ko'),
  line('module', 'vfat', '0', 'yes', ''),
  line('module', 'bad', '1', 'no', 'modprobe: module bad not found '),
  line('loaded', 'fat'),
  line('loaded', 'vfat'),
  line('error', 'insmod loop failed'),
  'IFREPORT-END',
  'IFREPORT-POWEROFF',
  '[    3.5] reboot: Power down',
].join('\r\n');

test('parses every field of a report, ignoring interleaved kernel lines and CRs', () => {
  const r = parseReport(REPORT);
  assert.equal(r.arch, 'x86_64');
  assert.equal(r.kver, '6.1.0-56-amd64');
  assert.equal(r.cmdline, 'console=ttyS0 talos.platform=metal foo="a b"');
  assert.equal(r.rootfs, 'ok');
  assert.equal(r.modulesRoot, 'usr/lib/modules');
  assert.deepEqual(r.baseKvers, ['6.1.0-56-amd64']);
  assert.deepEqual(r.rootEntries, ['0.sqsh', 'extensions.yaml']);
  assert.deepEqual(r.sqsh, [{ name: '0.sqsh', size: 4096 }]);
  assert.equal(r.extensionsYaml, true);
  assert.deepEqual(r.layers, [
    {
      index: 0,
      image: '0.sqsh',
      name: 'hello',
      version: 'v1.0.0',
      state: 'mounted',
      files: [{ path: '/usr/local/bin/hello world', size: 56 }],
      links: [{ path: '/usr/local/x.fw', target: 'target.fw' }],
    },
    {
      index: 1,
      image: 'modules.dep.sqsh',
      name: 'modules.dep',
      version: '6.1.0-56-amd64',
      state: 'mounted',
      files: [{ path: '/usr/lib/modules/6.1.0-56-amd64/modules.dep', size: 121 }],
      links: [],
    },
  ]);
  assert.deepEqual(r.schematicMarkers, ['abc123']);
  assert.deepEqual(r.flavorMarkers, ['def456']);
  assert.deepEqual(r.microcode, [
    { path: '/kernel/x86/microcode/AuthenticAMD.bin', size: 896, sha256: 'aa' },
  ]);
  assert.deepEqual(r.firmware, [
    { path: '/usr/lib/firmware/amd-ucode/LICENSE.amd-ucode', size: 54, sha256: 'bb' },
  ]);
  assert.deepEqual(r.firmwareLinks, [
    { path: '/lib/firmware/rtl_nic/rtl8125-current.fw', target: 'rtl8125a-3.fw' },
  ]);
  assert.equal(r.moddepLayer, 1);
  assert.deepEqual(r.moddepLines, ['extras/vfat.ko: kernel/fs/fat/fat.ko']);
  assert.deepEqual(r.modules, [
    { name: 'vfat', exitCode: 0, loaded: true, output: '' },
    { name: 'bad', exitCode: 1, loaded: false, output: 'modprobe: module bad not found' },
  ]);
  assert.deepEqual(r.loadedModules, ['fat', 'vfat']);
  assert.deepEqual(r.errors, ['insmod loop failed']);
  assert.equal(r.poweroff, true);
});

test('the last complete report wins; a missing power-off marker is reported', () => {
  const first = ['IFREPORT-BEGIN', line('cmdline', 'first'), 'IFREPORT-END'].join('\n');
  const second = ['IFREPORT-BEGIN', line('cmdline', 'second'), 'IFREPORT-END'].join('\n');
  const r = parseReport(`${first}\n${second}\n`);
  assert.equal(r.cmdline, 'second');
  assert.equal(r.poweroff, false);
  assert.deepEqual(r.layers, []);
});

test('no report block → BUILD_FAILED with the serial tail', () => {
  const serial = 'SeaBIOS\nBooting from ROM...\nKernel panic - not syncing: VFS: Unable to mount root fs\n';
  assert.throws(
    () => parseReport(serial),
    (e: unknown) =>
      isFactoryError(e, 'BUILD_FAILED') &&
      e.message.includes('Kernel panic') &&
      e.message.includes('IFREPORT-BEGIN'),
  );
  // A report cut off before its end marker is not accepted either.
  assert.throws(
    () => parseReport('IFREPORT-BEGIN\ncmdline\tx\n'),
    (e: unknown) => isFactoryError(e, 'BUILD_FAILED'),
  );
});

test('a file line for an unknown layer is an error naming the layer', () => {
  const serial = ['IFREPORT-BEGIN', line('file', '3', '1', '/x'), 'IFREPORT-END'].join('\n');
  assert.throws(
    () => parseReport(serial),
    (e: unknown) => isFactoryError(e, 'BUILD_FAILED') && e.message.includes('layer 3'),
  );
});
