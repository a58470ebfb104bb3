import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CpioWriter } from '../../src/builders/formats/cpio.js';
import { readCpio } from '../../src/builders/formats/cpio-reader.js';
import { addTreeEntries, walkTree } from '../../src/builders/formats/cpio-tree.js';

const run = promisify(execFile);
const TIMEOUT = { timeout: 30_000 };

/** Runs GNU cpio in `cwd` with `list` on stdin and returns stdout. */
function gnuCpio(args: string[], cwd: string, stdin: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('cpio', args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out))
        : reject(new Error(`cpio ${code}: ${Buffer.concat(err).toString()}`)),
    );
    child.stdin.end(stdin);
  });
}

async function writeArchive(fill: (w: CpioWriter) => Promise<void>, options = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const w = new CpioWriter((c) => void chunks.push(Buffer.from(c)), options);
  await fill(w);
  await w.finish();
  return Buffer.concat(chunks);
}

describe('cpio newc writer', () => {
  let dir: string;
  let tree: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'formats-cpio-'));
    tree = join(dir, 'tree');
    // Sizes 0..5 exercise every data padding case; names of varied lengths every name padding case.
    await mkdir(join(tree, 'lib/firmware/intel'), { recursive: true });
    await mkdir(join(tree, 'lib-x'), { recursive: true });
    await mkdir(join(tree, 'kernel/x86/microcode'), { recursive: true });
    for (let n = 0; n <= 5; n++)
      await writeFile(join(tree, 'lib', `f${'x'.repeat(n)}`), Buffer.alloc(n, 0x41 + n));
    await writeFile(join(tree, 'lib/firmware/intel/blob.bin'), Buffer.alloc(70_001, 7));
    await writeFile(join(tree, 'lib-x/private'), 'secret\n');
    await chmod(join(tree, 'lib-x/private'), 0o600);
    await writeFile(join(tree, 'kernel/x86/microcode/GenuineIntel.bin'), 'ucode');
    await writeFile(join(tree, 'extensions.yaml'), 'layers: []\n');
    await symlink('intel/blob.bin', join(tree, 'lib/firmware/link'));
    await chmod(join(tree, 'lib-x'), 0o750);
    // GNU cpio stores real mtimes; pin them so the bytes can be compared.
    await run('find', [tree, '-exec', 'touch', '-h', '-d', '@0', '{}', '+']);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('walk order is per-directory sorted pre-order, not a global sort', async () => {
    const paths = await walkTree(tree);
    assert.deepEqual(paths.slice(0, 4), ['extensions.yaml', 'kernel', 'kernel/x86', 'kernel/x86/microcode']);
    const lib = paths.indexOf('lib');
    const libX = paths.indexOf('lib-x');
    assert.ok(lib < paths.indexOf('lib/firmware/intel/blob.bin'));
    assert.ok(paths.indexOf('lib/fxxxxx') < libX, 'everything under lib/ precedes lib-x');
    assert.notDeepEqual(paths, [...paths].sort(), 'a global sort would put lib-x before lib/…');
  });

  test('bytes equal GNU cpio -H newc --reproducible -R +0:+0 for the same list', TIMEOUT, async () => {
    const paths = await walkTree(tree);
    const ours = await writeArchive((w) => addTreeEntries(w, tree, paths));
    const gnu = await gnuCpio(
      ['-H', 'newc', '-o', '--reproducible', '-R', '+0:+0', '--quiet'],
      tree,
      paths.join('\n') + '\n',
    );
    assert.equal(ours.length % 512, 0);
    assert.equal(ours.length, gnu.length);
    assert.ok(ours.equals(gnu), 'archives differ');
  });

  test('cpio -t lists and cpio -i extracts what we wrote', TIMEOUT, async () => {
    const paths = await walkTree(tree);
    const ours = await writeArchive((w) => addTreeEntries(w, tree, paths), { mtime: 1_700_000_000 });
    const listing = (await gnuCpio(['-t', '--quiet'], dir, ours)).toString().trim().split('\n');
    assert.deepEqual(listing, paths);
    const out = join(dir, 'extracted');
    await mkdir(out);
    await gnuCpio(['-i', '-d', '--quiet', '--preserve-modification-time'], out, ours);
    assert.deepEqual(await readFile(join(out, 'lib/firmware/intel/blob.bin')), Buffer.alloc(70_001, 7));
    assert.equal(await readlink(join(out, 'lib/firmware/link')), 'intel/blob.bin');
    assert.equal((await lstat(join(out, 'lib-x/private'))).mode & 0o777, 0o600);
    assert.equal((await lstat(join(out, 'lib/fxxx'))).mtimeMs, 1_700_000_000_000);
  });

  test('entries from buffers; inode numbers count up; trailer and 512 padding', async () => {
    const bytes = await writeArchive(async (w) => {
      await w.directory('d', { mode: 0o700 });
      await w.file('d/a', Buffer.from('abc'));
      await w.symlink('d/l', 'a');
    });
    const entries = [];
    for await (const e of readCpio([bytes])) {
      let data = '';
      for await (const c of e.content()) data += c.toString();
      entries.push({ name: e.name, inode: e.inode, mode: e.mode.toString(8), nlink: e.nlink, data });
    }
    assert.deepEqual(entries, [
      { name: 'd', inode: 0, mode: '40700', nlink: 2, data: '' },
      { name: 'd/a', inode: 1, mode: '100644', nlink: 1, data: 'abc' },
      { name: 'd/l', inode: 2, mode: '120777', nlink: 1, data: 'a' },
    ]);
    assert.equal(bytes.length, 512);
    assert.ok(bytes.includes(Buffer.from('TRAILER!!!\0')));
    // Header fields are upper-case hex, as GNU writes them.
    assert.equal(bytes.subarray(0, 22).toString(), '07070100000000000041C0');
  });

  test('padTo 1 leaves the archive 4-aligned only', async () => {
    const bytes = await writeArchive((w) => w.file('x', Buffer.from('12345')), { padTo: 1 });
    assert.equal(bytes.length % 4, 0);
    assert.notEqual(bytes.length % 512, 0);
  });

  test('rejects reserved and empty names and entries after finish', async () => {
    const w = new CpioWriter(() => undefined);
    await assert.rejects(w.file('TRAILER!!!', Buffer.alloc(0)), /reserved/);
    await assert.rejects(w.directory(''), /invalid entry name/);
    await w.finish();
    await assert.rejects(w.directory('late'), /after finish/);
  });

  test('the reader follows concatenated archives and reads GNU output', TIMEOUT, async () => {
    const paths = await walkTree(tree);
    const gnu = await gnuCpio(['-H', 'newc', '-o', '--quiet'], tree, paths.join('\n') + '\n');
    const ours = await writeArchive((w) => w.file('second', Buffer.from('2')));
    const names: string[] = [];
    for await (const e of readCpio([gnu.subarray(0, 1000), gnu.subarray(1000), ours])) names.push(e.name);
    assert.deepEqual(names, [...paths, 'second']);
  });
});
