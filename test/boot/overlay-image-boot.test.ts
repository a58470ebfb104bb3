/**
 * SBC overlays through the factory: a schematic naming the fixture overlay gets disk images whose
 * GPT entries are moved by the installer's `partitionOptions.offset`, whose gap holds what the
 * installer wrote (a fake u-boot), whose ESP holds the installer's files and whose cmdline carries
 * the installer's `kernelArgs` — and the image still boots (v1.8.3 amd64, GRUB, SeaBIOS). An
 * overlay the version's catalog does not list is a 400.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { FIXTURE_OVERLAY } from '../fixtures/overlay.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';
import { bootDisk } from '../helpers/qemu.js';
import { parseReport } from '../helpers/report.js';

const exec = promisify(execFile);

describe('disk images with an SBC overlay', { timeout: 600_000 }, () => {
  let t: TestFactory;
  let work: string;
  let id: string;
  let raw: string;

  before(async () => {
    ({ t } = await makeFixtureFactory());
    work = await mkdtemp(join(tmpdir(), 'if-overlay-img-'));
    const res = await t.factory.app.inject({
      method: 'POST',
      url: '/schematics',
      payload: `overlay:\n  image: siderolabs/${FIXTURE_OVERLAY.repo}\n  name: ${FIXTURE_OVERLAY.name}\ncustomization:\n  extraKernelArgs: [if.test=overlay]\n`,
    });
    assert.equal(res.statusCode, 201, res.body);
    id = res.json<{ id: string }>().id;
    const img = await t.factory.app.inject(`/image/${id}/v1.8.3/metal-amd64.raw.xz`);
    assert.equal(img.statusCode, 200, img.body);
    await writeFile(join(work, 'disk.raw.xz'), img.rawPayload);
    await exec('xz', ['-d', join(work, 'disk.raw.xz')]);
    raw = join(work, 'disk.raw');
  });
  after(async () => {
    await t?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the GPT entries start after the overlay offset and the gap holds the installer’s bytes', async () => {
    const { stdout } = await exec('sfdisk', ['--json', raw]);
    const table = (JSON.parse(stdout) as { partitiontable: { partitions: { name: string }[] } })
      .partitiontable;
    assert.deepEqual(
      table.partitions.map((p) => p.name),
      ['EFI', 'BIOS', 'BOOT', 'META'],
    );
    const fh = await open(raw, 'r');
    try {
      const hdr = Buffer.alloc(512);
      await fh.read(hdr, 0, 512, 512);
      // GPT header: PartitionEntryLBA at offset 72.
      assert.equal(Number(hdr.readBigUInt64LE(72)), 2 + FIXTURE_OVERLAY.partitionOffset);
      const uboot = Buffer.alloc(FIXTURE_OVERLAY.ubootSize);
      await fh.read(uboot, 0, uboot.length, FIXTURE_OVERLAY.ubootOffset);
      assert.ok(
        uboot.some((b) => b !== 0),
        'the installer wrote its u-boot into the gap',
      );
    } finally {
      await fh.close();
    }
  });

  it('boots under SeaBIOS with the overlay’s kernel args on the cmdline', async () => {
    const boot = await bootDisk({
      disk: raw,
      format: 'raw',
      firmware: 'bios',
      timeoutMs: 240_000,
      name: 'overlay-bios',
    });
    const r = parseReport(boot.serial);
    assert.deepEqual(r.errors, []);
    for (const a of FIXTURE_OVERLAY.kernelArgs) assert.ok(r.cmdline.includes(a), `${a} in ${r.cmdline}`);
    assert.match(r.cmdline, /if\.test=overlay/);
    assert.ok(r.schematicMarkers.includes(id));
  });

  it('a 1.5-era board path means the board’s overlay: none before 1.7, pinned through the catalog after', async () => {
    const empty = await t.factory.app.inject({ method: 'POST', url: '/schematics', payload: '{}' });
    const emptyId = empty.json<{ id: string }>().id;
    const old = await t.factory.app.inject(`/image/${emptyId}/v1.5.5/metal-rpi_generic-arm64.raw.xz`);
    assert.equal(old.statusCode, 400, old.body);
    assert.match(old.body, /board rpi_generic needs an overlay/);
    // The fixture catalog has no sbc-raspberrypi: the mapped overlay is looked up and refused.
    const mapped = await t.factory.app.inject(`/image/${emptyId}/v1.8.3/metal-rpi_generic-arm64.raw.xz`);
    assert.equal(mapped.statusCode, 400, mapped.body);
    assert.match(mapped.body, /overlay "rpi_generic" \(siderolabs\/sbc-raspberrypi\) is not available/);
  });

  it('an overlay the catalog does not list is a 400', async () => {
    const res = await t.factory.app.inject({
      method: 'POST',
      url: '/schematics',
      payload: `overlay:\n  image: siderolabs/${FIXTURE_OVERLAY.repo}\n  name: no-such-board\n`,
    });
    const other = res.json<{ id: string }>().id;
    const img = await t.factory.app.inject(`/image/${other}/v1.8.3/metal-amd64.raw.xz`);
    assert.equal(img.statusCode, 400, img.body);
    assert.match(img.body, /overlay "no-such-board"/);
  });
});
