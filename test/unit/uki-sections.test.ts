/**
 * The UKI section plan per Talos version (talos-imager §5.1, §5.2, §5.4, errata §4), the
 * os-release text, profile texts, measurement sets per `.pcrsig`, and kernel version discovery.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readPe, readSection } from '../../src/builders/formats/pe/reader.js';
import { buildUki, systemdStubVersion } from '../../src/builders/uki/build.js';
import { discoverKernelVersion } from '../../src/builders/uki/kernel-version.js';
import { makeStub } from '../helpers/pe-image.js';
import { osReleaseText } from '../../src/builders/uki/os-release.js';
import {
  pcrMeasurementSets,
  profileText,
  ukiProfiles,
  ukiSectionPlan,
  type UkiMedium,
} from '../../src/builders/uki/sections.js';
import { deriveQuirks } from '../../src/profile/quirks.js';
import { parseTalosVersion } from '../../src/profile/version.js';

const q = (v: string): ReturnType<typeof deriveQuirks> => deriveQuirks(parseTalosVersion(v));
const CMD = 'console=ttyS0 talos.platform=metal';

/** The plan as `name[:content]` strings (content shown where it differs from the obvious one). */
function planOf(
  version: string,
  signed: boolean,
  medium: UkiMedium,
  extra: { uname?: boolean; splash?: boolean } = {},
): string[] {
  const quirks = q(version);
  return ukiSectionPlan({
    quirks,
    signed,
    hasUname: extra.uname ?? true,
    hasSplash: extra.splash ?? false,
    profiles: ukiProfiles(quirks, medium, CMD),
  }).map((e) => {
    const flags = `${e.append ? '' : '(measured only)'}${e.measure ? '' : '(not measured)'}`;
    const detail =
      e.content === 'kernel-signed' ? '=signed kernel' : e.profile !== undefined ? `#${e.profile}` : '';
    return `${e.name}${detail}${flags}`;
  });
}

describe('UKI section plan', () => {
  it('Talos ≥ 1.10, unsigned, plain UKI: sbat, osrel, cmdline, uname, linux, initrd, profile main', () => {
    assert.deepEqual(planOf('v1.10.6', false, 'uki'), [
      '.sbat(measured only)',
      '.osrel',
      '.cmdline',
      '.uname',
      '.linux',
      '.initrd',
      '.profile#0',
    ]);
  });

  it('Talos ≥ 1.10, signed ISO: pcrpkey before linux, reset profile with its cmdline, one pcrsig per profile', () => {
    assert.deepEqual(planOf('v1.10.6', true, 'iso', { splash: true }), [
      '.sbat(measured only)',
      '.osrel',
      '.cmdline',
      '.uname',
      '.splash',
      '.pcrpkey',
      '.linux',
      '.initrd',
      '.profile#0',
      '.pcrsig#0(not measured)',
      '.profile#1',
      '.cmdline#1',
      '.pcrsig#1(not measured)',
    ]);
  });

  it('Talos ≥ 1.10, disk image / installer: reset-maintenance profile; no .uname when unknown', () => {
    for (const medium of ['image', 'installer'] as const) {
      assert.deepEqual(planOf('v1.11.0-beta.1', false, medium, { uname: false }), [
        '.sbat(measured only)',
        '.osrel',
        '.cmdline',
        '.linux',
        '.initrd',
        '.profile#0',
        '.profile#1',
        '.cmdline#1',
      ]);
    }
  });

  it('Talos 1.5–1.9, signed: the objcopy-era order with the signed kernel and one pcrsig last', () => {
    for (const v of ['v1.5.5', 'v1.8.3']) {
      assert.deepEqual(planOf(v, true, 'iso', { splash: true }), [
        '.osrel',
        '.cmdline',
        '.initrd',
        '.splash',
        '.uname',
        '.sbat(measured only)',
        '.pcrpkey',
        '.linux=signed kernel',
        '.pcrsig(not measured)',
      ]);
    }
  });

  it('profiles: texts, reset cmdlines, none below 1.10', () => {
    const iso = ukiProfiles(q('v1.10.0'), 'iso', CMD);
    assert.deepEqual(iso.map(profileText), ['ID=main', 'ID=reset\nTITLE=Reset system disk']);
    assert.equal(iso[1]!.cmdline, `${CMD} talos.experimental.wipe=system`);
    const img = ukiProfiles(q('v1.10.0'), 'image', CMD);
    assert.equal(profileText(img[1]!), 'ID=reset-maintenance\nTITLE=Reset to maintenance mode');
    assert.equal(img[1]!.cmdline, `${CMD} talos.experimental.wipe=system:EPHEMERAL,STATE`);
    assert.deepEqual(ukiProfiles(q('v1.9.5'), 'iso', CMD), []);
  });

  it('measurement sets: base sections + that profile, the profile cmdline replacing the base one', () => {
    const quirks = q('v1.10.6');
    const plan = ukiSectionPlan({
      quirks,
      signed: true,
      hasUname: true,
      hasSplash: false,
      profiles: ukiProfiles(quirks, 'iso', CMD),
    });
    const sets = pcrMeasurementSets(plan);
    assert.equal(sets.length, 2);
    const show = (m: Map<string, { content: string; profile?: number }>): string[] =>
      [...m.entries()].map(([n, e]) => `${n}=${e.content}${e.profile ?? ''}`);
    assert.deepEqual(show(sets[0]!), [
      '.sbat=sbat',
      '.osrel=osrel',
      '.cmdline=cmdline',
      '.uname=uname',
      '.pcrpkey=pcrpkey',
      '.linux=kernel',
      '.initrd=initrd',
      '.profile=profile0',
    ]);
    assert.deepEqual(show(sets[1]!), [
      '.sbat=sbat',
      '.osrel=osrel',
      '.cmdline=profile-cmdline1',
      '.uname=uname',
      '.pcrpkey=pcrpkey',
      '.linux=kernel',
      '.initrd=initrd',
      '.profile=profile1',
    ]);
    // 1.5–1.9: one set over everything measured.
    const legacy = ukiSectionPlan({
      quirks: q('v1.5.5'),
      signed: true,
      hasUname: false,
      hasSplash: false,
      profiles: [],
    });
    assert.deepEqual(
      [...pcrMeasurementSets(legacy)[0]!.keys()],
      ['.osrel', '.cmdline', '.initrd', '.sbat', '.pcrpkey', '.linux'],
    );
  });
});

describe('os-release', () => {
  it('is the HEAD text for the version, newline-terminated', () => {
    assert.equal(
      osReleaseText('v1.10.6'),
      'NAME="Talos"\nID=talos\nVERSION_ID=v1.10.6\nPRETTY_NAME="Talos (v1.10.6)"\n' +
        'HOME_URL="https://www.talos.dev/"\nBUG_REPORT_URL="https://github.com/siderolabs/talos/issues"\n' +
        'VENDOR_NAME="Sidero Labs"\nVENDOR_URL="https://www.siderolabs.com/"\n',
    );
    assert.match(osReleaseText('v1.9.0', 'My Talos'), /^NAME="My Talos"\nID=my_talos\n/);
  });
});

describe('kernel version discovery', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kver-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const bzImage = (versionOffset: number, setupSects: number, text: string): Buffer => {
    const b = Buffer.alloc(0x200 * (setupSects + 1) + 4096);
    b.write('MZ', 0);
    b[0x1f1] = setupSects;
    b.write('HdrS', 0x202, 'latin1');
    b.writeUInt16LE(versionOffset, 0x20e);
    b.write(`${text}\0`, versionOffset + 0x200, 'latin1');
    return b;
  };

  it('x86 bzImage: the string the setup header points at, first word', async () => {
    const p = path.join(dir, 'bz');
    await writeFile(p, bzImage(0x3c0, 30, '6.1.54-talos (@buildkitsandbox) #1 SMP'));
    assert.equal(await discoverKernelVersion(p), '6.1.54-talos');
  });

  it('x86 bzImage without a version pointer, or one out of range: undefined', async () => {
    const p = path.join(dir, 'bz0');
    await writeFile(p, bzImage(0, 30, 'x'));
    assert.equal(await discoverKernelVersion(p), undefined);
    const q2 = path.join(dir, 'bz1');
    const b = bzImage(0x3c0, 30, '6.1.0');
    b[0x1f1] = 1; // setup sectors end before the pointer
    await writeFile(q2, b);
    assert.equal(await discoverKernelVersion(q2), undefined);
  });

  it('arm64 Image: the "Linux version" banner, also when it straddles read chunks', async () => {
    const b = Buffer.alloc(3 * 1024 * 1024);
    b.write('MZ', 0);
    b.write('ARM\x64', 0x38, 'latin1');
    const banner = 'Linux version 6.12.40-talos (builder@x) (gcc) #1 SMP';
    b.write(banner, 2 * 1024 * 1024 - 7, 'latin1');
    const p = path.join(dir, 'Image');
    await writeFile(p, b);
    assert.equal(await discoverKernelVersion(p), '6.12.40-talos');
  });

  it('an unknown format (e.g. a compressed image) gives undefined', async () => {
    const p = path.join(dir, 'gz');
    await writeFile(p, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]));
    assert.equal(await discoverKernelVersion(p), undefined);
  });
});

describe('buildUki and the stub’s profile support', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'uki-profiles-'));
    await writeFile(path.join(dir, 'kernel'), Buffer.alloc(4096, 1));
    await writeFile(path.join(dir, 'initrd'), Buffer.alloc(8192, 2));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const stubWith = async (name: string, sdmagic: string): Promise<string> => {
    const p = path.join(dir, name);
    const sbat = Buffer.from('sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n');
    await writeFile(
      p,
      makeStub({
        sections: [
          { name: '.text', virtualAddress: 0x1000, data: Buffer.alloc(0x800, 0xc3) },
          { name: '.sbat', virtualAddress: 0x2000, data: sbat, characteristics: 0x40000040 },
          {
            name: '.sdmagic',
            virtualAddress: 0x3000,
            data: Buffer.from(`${sdmagic}\0`),
            characteristics: 0x40000040,
          },
        ],
      }),
    );
    return p;
  };
  const build = async (stubPath: string, out: string): Promise<Awaited<ReturnType<typeof buildUki>>> =>
    buildUki(
      {
        stubPath,
        stubWhat: 'systemd-stub.efi of v1.10.6 amd64',
        arch: 'amd64',
        kernelPath: path.join(dir, 'kernel'),
        initrdPath: path.join(dir, 'initrd'),
        cmdline: CMD,
        version: 'v1.10.6',
        quirks: q('v1.10.6'),
        medium: 'iso',
        sourceDateEpoch: 0,
        tmpDir: dir,
      },
      path.join(dir, out),
    );

  it('a systemd ≥ 257 stub gets the main and reset profiles with the reset cmdline', async () => {
    const res = await build(
      await stubWith('stub257.efi', '#### LoaderInfo: systemd-stub 257.7 ####'),
      'p257.efi',
    );
    assert.equal(res.stubVersion, 257);
    assert.equal(res.profilesDropped, false);
    const pe = await readPe(path.join(dir, 'p257.efi'), 'uki');
    assert.deepEqual(
      pe.sections.map((s) => s.name),
      [
        '.text',
        '.sbat',
        '.sdmagic',
        '.osrel',
        '.cmdline',
        '.linux',
        '.initrd',
        '.profile',
        '.profile',
        '.cmdline',
      ],
    );
    const text = async (i: number): Promise<string> =>
      (await readSection(path.join(dir, 'p257.efi'), pe.sections[i]!, true)).toString();
    assert.equal(await text(7), 'ID=main');
    assert.equal(await text(8), 'ID=reset\nTITLE=Reset system disk');
    assert.equal(await text(9), `${CMD} talos.experimental.wipe=system`);
  });

  it('an older stub (systemd 252: the last .cmdline wins) gets no profiles', async () => {
    const res = await build(
      await stubWith('stub252.efi', '#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####'),
      'p252.efi',
    );
    assert.equal(res.stubVersion, 252);
    assert.equal(res.profilesDropped, true);
    const pe = await readPe(path.join(dir, 'p252.efi'), 'uki');
    assert.deepEqual(
      pe.sections.map((s) => s.name),
      ['.text', '.sbat', '.sdmagic', '.osrel', '.cmdline', '.linux', '.initrd'],
    );
  });

  it('reads the stub version from .sdmagic', () => {
    assert.equal(systemdStubVersion(Buffer.from('#### LoaderInfo: systemd-stub 258~rc1 ####\0')), 258);
    assert.equal(systemdStubVersion(Buffer.from('something else')), undefined);
  });
});
