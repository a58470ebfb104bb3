/** The in-memory initramfs stage: the imager's MkdirAll/O_CREATE semantics and Talos' walk order. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFactoryError } from '../../src/errors.js';
import { CpioWriter } from '../../src/builders/formats/cpio.js';
import { readCpio } from '../../src/builders/formats/cpio-reader.js';
import { Stage } from '../../src/builders/initramfs/stage.js';

/** The archive of the whole stage, read back as (name, mode, bytes). */
async function archive(stage: Stage): Promise<{ name: string; mode: string; nlink: number; data: string }[]> {
  const chunks: Buffer[] = [];
  const writer = new CpioWriter((c) => {
    chunks.push(Buffer.from(c));
  });
  await stage.addEntries(writer, stage.paths());
  await writer.finish();
  const out: { name: string; mode: string; nlink: number; data: string }[] = [];
  for await (const e of readCpio([Buffer.concat(chunks)])) {
    const parts: Buffer[] = [];
    for await (const c of e.content()) parts.push(c);
    out.push({
      name: e.name,
      mode: (e.mode & 0o7777).toString(8),
      nlink: e.nlink,
      data: Buffer.concat(parts).toString(),
    });
  }
  return out;
}

describe('initramfs stage', () => {
  it('merges firmware trees like the imager: existing entries keep their mode, new ones go through the umask', async () => {
    const s = new Stage();
    s.writeFile('1.sqsh', 0o644, Buffer.from('one'), 't');
    s.writeFile('0.sqsh', 0o644, Buffer.from('zero'), 't');
    s.mkdirAll('usr/lib/firmware', 0o775, 't');
    s.place('usr/lib/firmware/a', 'dir', 0o777, undefined, 't');
    s.place('usr/lib/firmware/a/x.bin', 'file', 0o664, Buffer.from('first'), 't');
    // A later extension: same directory (kept), same file (bytes replaced, mode kept), a new file.
    s.mkdirAll('usr/lib/firmware', 0o700, 't');
    s.place('usr/lib/firmware/a', 'dir', 0o700, undefined, 't');
    s.place('usr/lib/firmware/a/x.bin', 'file', 0o600, Buffer.from('second'), 't');
    s.place('usr/lib/firmware/a-b.bin', 'file', 0o600, Buffer.from('ab'), 't');
    s.writeFile('extensions.yaml', 0o644, Buffer.from('layers: []\n'), 't');
    assert.deepEqual(await archive(s), [
      { name: '0.sqsh', mode: '644', nlink: 1, data: 'zero' },
      { name: '1.sqsh', mode: '644', nlink: 1, data: 'one' },
      { name: 'extensions.yaml', mode: '644', nlink: 1, data: 'layers: []\n' },
      { name: 'usr', mode: '755', nlink: 3, data: '' },
      { name: 'usr/lib', mode: '755', nlink: 3, data: '' },
      { name: 'usr/lib/firmware', mode: '755', nlink: 3, data: '' },
      // Byte order per directory: `a` and its children before `a-b.bin`.
      { name: 'usr/lib/firmware/a', mode: '755', nlink: 2, data: '' },
      { name: 'usr/lib/firmware/a/x.bin', mode: '644', nlink: 1, data: 'second' },
      { name: 'usr/lib/firmware/a-b.bin', mode: '600', nlink: 1, data: 'ab' },
    ]);
  });

  it('refuses a file over a directory and a directory over a file, naming the step', () => {
    const s = new Stage();
    s.mkdirAll('lib/firmware/d', 0o755, 'step');
    s.place('lib/firmware/f', 'file', 0o644, Buffer.from('f'), 'step');
    assert.throws(
      () => s.place('lib/firmware/d', 'file', 0o644, Buffer.from('x'), 'initramfs: extension x: firmware'),
      (e: unknown) =>
        isFactoryError(e, 'BUILD_FAILED') &&
        /^initramfs: extension x: firmware: cannot copy file/.test(e.message),
    );
    assert.throws(
      () => s.place('lib/firmware/f', 'dir', 0o755, undefined, 'step'),
      (e: unknown) => isFactoryError(e, 'BUILD_FAILED') && /over non-directory/.test(e.message),
    );
  });
});
