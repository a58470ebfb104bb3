import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { FactoryError, isFactoryError } from '../../src/errors.js';
import { mksquashfs } from '../../src/builders/tools/mksquashfs.js';
import { runTool, spawnTool, toolOutput } from '../../src/builders/tools/run.js';
import { unsquashfsExtract, unsquashfsList } from '../../src/builders/tools/unsquashfs.js';
import { xzCompress } from '../../src/builders/tools/xz.js';
import { zstdCompress, zstdDecompress } from '../../src/builders/tools/zstd.js';

const run = promisify(execFile);
const TIMEOUT = { timeout: 30_000 };

async function compressWith(tool: ReturnType<typeof xzCompress>, data: Buffer): Promise<Buffer> {
  tool.stdin.end(data);
  const out: Buffer[] = [];
  for await (const c of toolOutput(tool)) out.push(c);
  await tool.done;
  return Buffer.concat(out);
}

describe('external tool wrappers', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'initramfs-tools-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test(
    'a failing tool → BUILD_FAILED naming the step, the tool, the exit code and the stderr tail',
    TIMEOUT,
    async () => {
      await assert.rejects(
        mksquashfs({
          step: 'initramfs: extension siderolabs/foo: squash',
          source: join(dir, 'does-not-exist'),
          dest: join(dir, 'x.sqsh'),
          compression: 'zstd',
        }),
        (e: unknown) => {
          assert.ok(isFactoryError(e, 'BUILD_FAILED'));
          assert.match(
            e.message,
            /^initramfs: extension siderolabs\/foo: squash: mksquashfs exited 1: .*does-not-exist/s,
          );
          return true;
        },
      );
    },
  );

  test('a missing program → BUILD_FAILED "could not be started"', TIMEOUT, async () => {
    await assert.rejects(runTool('/nonexistent/tool', [], { step: 'test step' }), (e: unknown) => {
      return (
        isFactoryError(e, 'BUILD_FAILED') && /^test step: tool could not be started: .*ENOENT/.test(e.message)
      );
    });
  });

  test('abort kills the program and rejects with the signal reason', TIMEOUT, async () => {
    const controller = new AbortController();
    const pending = runTool('sleep', ['30'], { step: 'sleeping', signal: controller.signal });
    setTimeout(() => controller.abort(new FactoryError('BUILD_TIMEOUT', 'build timed out')), 50);
    await assert.rejects(pending, (e: unknown) => isFactoryError(e, 'BUILD_TIMEOUT'));
    const plain = new AbortController();
    plain.abort();
    await assert.rejects(
      runTool('sleep', ['30'], { step: 'sleeping', signal: plain.signal }),
      (e: unknown) => {
        return isFactoryError(e, 'BUILD_FAILED') && e.message === 'sleeping: aborted';
      },
    );
  });

  test('stdin/stdout piping, capture and file output', TIMEOUT, async () => {
    const out = await runTool('tr', ['a-z', 'A-Z'], {
      step: 'tr',
      stdin: Buffer.from('hello'),
      stdout: 'capture',
    });
    assert.equal(out.toString(), 'HELLO');
    const src = join(dir, 'in.txt');
    await writeFile(src, 'abc');
    await runTool('tr', ['a-z', 'A-Z'], {
      step: 'tr',
      stdin: { path: src },
      stdout: { path: join(dir, 'out.txt') },
    });
    assert.equal(await readFile(join(dir, 'out.txt'), 'utf8'), 'ABC');
  });

  test('xz output uses CRC32 checks (the only kind the kernel decoder accepts)', TIMEOUT, async () => {
    const data = Buffer.alloc(300_000, 'initramfs ');
    const xz = await compressWith(xzCompress({ step: 'xz' }), data);
    await writeFile(join(dir, 'a.xz'), xz);
    const { stdout } = await run('xz', ['--robot', '--list', join(dir, 'a.xz')]);
    assert.match(stdout, /^totals\t.*\tCRC32\t/m);
    assert.deepEqual(
      (await run('xz', ['-dc', join(dir, 'a.xz')], { encoding: 'buffer', maxBuffer: 1 << 22 })).stdout,
      data,
    );
  });

  test('zstd round trip; stopping a decompressor early is not a failure', TIMEOUT, async () => {
    const data = Buffer.alloc(5_000_000, 'zstd ');
    await writeFile(join(dir, 'a.zst'), await compressWith(zstdCompress({ step: 'zstd' }), data));
    const tool = zstdDecompress(join(dir, 'a.zst'), { step: 'zstd -d' });
    for await (const chunk of toolOutput(tool)) {
      assert.ok(chunk.length > 0);
      break;
    }
    await tool.done;
    const full = spawnTool('zstd', ['-dc', join(dir, 'a.zst')], { step: 'zstd -d' });
    full.stdin.end();
    let size = 0;
    for await (const chunk of toolOutput(full)) size += (chunk as Buffer).length;
    await full.done;
    assert.equal(size, data.length);
  });

  test('unsquashfs list and partial extraction', TIMEOUT, async () => {
    const src = join(dir, 'sq');
    await mkdir(join(src, 'usr/lib/modules/6.1.0'), { recursive: true });
    await writeFile(join(src, 'usr/lib/modules/6.1.0/modules.dep'), '');
    await writeFile(join(src, 'init'), '#!/bin/sh\n');
    await mksquashfs({ step: 'sq', source: src, dest: join(dir, 'sq.sqsh'), compression: 'xz' });
    assert.deepEqual(await unsquashfsList(join(dir, 'sq.sqsh'), { step: 'list' }), [
      'init',
      'usr',
      'usr/lib',
      'usr/lib/modules',
      'usr/lib/modules/6.1.0',
      'usr/lib/modules/6.1.0/modules.dep',
    ]);
    await unsquashfsExtract({
      step: 'x',
      image: join(dir, 'sq.sqsh'),
      dest: join(dir, 'x'),
      paths: ['usr/lib/modules'],
    });
    const { stdout } = await run('find', [join(dir, 'x'), '-mindepth', '1', '-printf', '%P\n']);
    assert.deepEqual(stdout.trim().split('\n').sort(), [
      'usr',
      'usr/lib',
      'usr/lib/modules',
      'usr/lib/modules/6.1.0',
      'usr/lib/modules/6.1.0/modules.dep',
    ]);
  });
});
