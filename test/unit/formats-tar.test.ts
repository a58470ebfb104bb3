import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { readTar, TarFormatError, type TarEntry } from '../../src/builders/formats/tar-reader.js';
import { ustarArchive, ustarHeader } from '../../src/builders/formats/ustar.js';

const run = promisify(execFile);
const TIMEOUT = { timeout: 30_000 };

interface Seen {
  path: string;
  type: TarEntry['type'];
  linkpath: string;
  data: string;
}

async function readAll(bytes: Buffer, chunk = 700): Promise<Seen[]> {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
  const out: Seen[] = [];
  for await (const e of readTar(parts)) {
    let data = '';
    for await (const c of e.content()) data += c.toString();
    out.push({ path: e.path, type: e.type, linkpath: e.linkpath, data });
  }
  return out;
}

describe('USTAR writer (Go archive/tar bytes)', () => {
  test('header fields are formatted like Go', () => {
    const h = ustarHeader({ name: 'manifest.yaml', type: 'file', mode: 0o644 }, 309);
    const field = (start: number, len: number): string => h.subarray(start, start + len).toString('latin1');
    assert.equal(field(0, 14), 'manifest.yaml\0');
    assert.equal(field(100, 8), '0000644\0');
    assert.equal(field(108, 8), '0000000\0');
    assert.equal(field(116, 8), '0000000\0');
    assert.equal(field(124, 12), '00000000465\0');
    assert.equal(field(136, 12), '00000000000\0');
    assert.equal(field(156, 1), '0');
    assert.equal(field(257, 8), 'ustar\x0000');
    assert.equal(field(265, 64), '\0'.repeat(64), 'uname and gname are empty');
    assert.equal(field(329, 8), '0000000\0');
    assert.equal(field(337, 8), '0000000\0');
    assert.match(field(148, 8), /^[0-7]{6}\0 $/);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] ?? 0);
    assert.equal(parseInt(field(148, 6), 8), sum);
  });

  test('archive ends with exactly two zero blocks and no record padding', () => {
    const tar = ustarArchive([
      { name: 'a/', type: 'directory', mode: 0o755 },
      { name: 'a/b', type: 'file', mode: 0o600, data: Buffer.from('x'.repeat(513)) },
    ]);
    assert.equal(tar.length, 512 + 512 + 1024 + 1024);
    assert.ok(tar.subarray(tar.length - 1024).every((b) => b === 0));
  });

  test('long names go to the USTAR prefix; impossible ones throw', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const tar = ustarArchive([{ name: long, type: 'file', mode: 0o644, data: Buffer.from('z') }]);
    assert.deepEqual(await readAll(tar), [{ path: long, type: 'file', linkpath: '', data: 'z' }]);
    assert.throws(() => ustarArchive([{ name: 'x'.repeat(101), type: 'file', mode: 0o644 }]), /does not fit/);
    assert.throws(() => ustarArchive([{ name: 'é', type: 'file', mode: 0o644 }]), /ASCII/);
  });

  test('GNU tar and Python tarfile read what we write', TIMEOUT, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'formats-tar-w-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'x.tar');
    await writeFile(
      file,
      ustarArchive([
        { name: 'rootfs/', type: 'directory', mode: 0o755 },
        { name: 'rootfs/f', type: 'file', mode: 0o640, data: Buffer.from('hello') },
        { name: 'rootfs/l', type: 'symlink', mode: 0o777, linkname: 'f' },
      ]),
    );
    const { stdout } = await run('tar', ['-tvf', file]);
    assert.match(stdout, /^drwxr-xr-x 0\/0 +0 1970-01-01 00:00 rootfs\/$/m);
    assert.match(stdout, /^-rw-r----- 0\/0 +5 1970-01-01 00:00 rootfs\/f$/m);
    assert.match(stdout, /^lrwxrwxrwx 0\/0 +0 1970-01-01 00:00 rootfs\/l -> f$/m);
    const py = await run('python3', [
      '-c',
      'import sys,tarfile\nwith tarfile.open(sys.argv[1]) as t:\n  print([(m.name, m.type.decode(), m.size) for m in t])',
      file,
    ]);
    assert.equal(py.stdout.trim(), "[('rootfs', '5', 0), ('rootfs/f', '0', 5), ('rootfs/l', '2', 0)]");
  });
});

describe('tar reader', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'formats-tar-r-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('reads GNU long names (L/K records) and PAX path/linkpath', TIMEOUT, async () => {
    const src = join(dir, 'src');
    const deep = `${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(60)}`;
    await mkdir(join(src, deep), { recursive: true });
    await writeFile(join(src, deep, 'file.txt'), 'deep data');
    await symlink(`../${'x'.repeat(110)}`, join(src, 'longlink'));
    for (const format of ['gnu', 'pax'] as const) {
      const file = join(dir, `${format}.tar`);
      await run('tar', [`--format=${format}`, '-C', src, '--sort=name', '-cf', file, '.']);
      const entries = await readAll(await readFile(file));
      const names = entries.map((e) => e.path.replace(/^\.\//, ''));
      assert.ok(names.includes(`${deep}/file.txt`), `${format}: long path read`);
      const leaf = entries.find((e) => e.path.endsWith('file.txt'));
      assert.equal(leaf?.data, 'deep data');
      const link = entries.find((e) => e.path.endsWith('longlink'));
      assert.equal(link?.type, 'symlink');
      assert.equal(link?.linkpath, `../${'x'.repeat(110)}`, `${format}: long link target read`);
    }
  });

  test('PAX records are exposed (SELinux label from Python tarfile)', TIMEOUT, async () => {
    const file = join(dir, 'selinux.tar');
    await run('python3', [
      '-c',
      [
        'import io,sys,tarfile',
        'with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:',
        '  i = tarfile.TarInfo("rootfs/usr/local/bin/x")',
        '  i.size = 3',
        '  i.pax_headers = {"SCHILY.xattr.security.selinux": "system_u:object_r:bin_t:s0"}',
        '  t.addfile(i, io.BytesIO(b"abc"))',
      ].join('\n'),
      file,
    ]);
    const entries: TarEntry[] = [];
    for await (const e of readTar([await readFile(file)])) entries.push(e);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.pax['SCHILY.xattr.security.selinux'], 'system_u:object_r:bin_t:s0');
  });

  test('unconsumed content is skipped; a bad checksum is a format error', async () => {
    const tar = ustarArchive([
      { name: 'one', type: 'file', mode: 0o644, data: Buffer.alloc(1500, 1) },
      { name: 'two', type: 'file', mode: 0o644, data: Buffer.from('2') },
    ]);
    const names: string[] = [];
    for await (const e of readTar([tar])) names.push(e.path);
    assert.deepEqual(names, ['one', 'two']);
    const broken = Buffer.from(tar);
    broken[0] = 0x41;
    await assert.rejects(
      readAll(broken),
      (e: unknown) => e instanceof TarFormatError && /checksum/.test(e.message),
    );
    await assert.rejects(
      readAll(tar.subarray(0, 800)),
      (e: unknown) => e instanceof TarFormatError && /unexpected end/.test(e.message),
    );
  });
});
