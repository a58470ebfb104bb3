/** Unit tests for the QEMU harness' failure paths (cheap boots that never reach an OS). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isFactoryError } from '../../src/errors.js';
import { bootDisk, bootKernel, serialTail } from '../helpers/qemu.js';

let dir: string;
let disk: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fixture-qemu-'));
  disk = path.join(dir, 'empty.raw');
  await writeFile(disk, '');
  await truncate(disk, 1 << 20);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test(
  'a VM that never finishes is killed at the timeout with the serial tail in the error',
  { timeout: 30_000 },
  async () => {
    const logFile = path.join(dir, 'timeout.log');
    await assert.rejects(
      bootDisk({ disk, firmware: 'bios', timeoutMs: 4_000, logFile, name: 'never-ends' }),
      (e: unknown) =>
        isFactoryError(e, 'BUILD_TIMEOUT') &&
        e.message.includes('did not finish within 4000 ms') &&
        e.message.includes('No bootable device') &&
        e.message.includes(logFile),
    );
    const log = await readFile(logFile, 'utf8');
    assert.match(log, /^# qemu-system-x86_64 .*-drive file=.*snapshot=on/);
    assert.match(log, /SeaBIOS/);
  },
);

test('stopOn ends the VM as soon as the serial output matches', { timeout: 30_000 }, async () => {
  const res = await bootDisk({
    disk,
    firmware: 'bios',
    timeoutMs: 20_000,
    stopOn: /No bootable device/,
    name: 'stop-on',
  });
  assert.equal(res.stoppedOnMatch, true);
  assert.equal(res.poweredOff, false);
  assert.match(res.serial, /Boot failed: not a bootable disk/);
  assert.ok(!res.serial.includes('\r'));
});

test('QEMU failing to start the guest is BUILD_FAILED with its stderr', { timeout: 30_000 }, async () => {
  await assert.rejects(
    bootKernel({ kernel: path.join(dir, 'missing-vmlinuz'), timeoutMs: 10_000, name: 'no-kernel' }),
    (e: unknown) =>
      isFactoryError(e, 'BUILD_FAILED') &&
      /exited with code 1/.test(e.message) &&
      e.message.includes('missing-vmlinuz'),
  );
  await assert.rejects(
    bootKernel({ kernel: disk, timeoutMs: 5_000, secureBoot: 'snakeoil' }),
    /secureBoot needs firmware "uefi"/,
  );
});

test('serialTail keeps the last lines', () => {
  assert.equal(serialTail('a\nb\nc\nd', 2), 'c\nd');
});
