import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { isFactoryError } from '../../src/errors.js';
import { ustarArchive, type UstarEntry } from '../../src/builders/formats/ustar.js';
import { unpackExtensionImage, type UnpackOptions } from '../../src/builders/extensions/unpack.js';

const run = promisify(execFile);
const TIMEOUT = { timeout: 30_000 };

const file = (name: string, data = '', mode = 0o644): UstarEntry => ({
  name,
  type: 'file',
  mode,
  data: Buffer.from(data),
});
const dirEntry = (name: string, mode = 0o755): UstarEntry => ({ name, type: 'directory', mode });
const link = (name: string, target: string): UstarEntry => ({
  name,
  type: 'symlink',
  mode: 0o777,
  linkname: target,
});
const MANIFEST = file('manifest.yaml', 'version: v1alpha1\n');

describe('extension unpacking', () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'extension-unpack-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function layerFile(bytes: Buffer): Promise<string> {
    const path = join(dir, `layer${n++}`);
    await writeFile(path, bytes);
    return path;
  }

  async function unpack(layers: Buffer[], extra: Partial<UnpackOptions> = {}): Promise<string> {
    const destDir = join(dir, `out${n++}`);
    const paths = [];
    for (const l of layers) paths.push(await layerFile(l));
    await unpackExtensionImage({ name: 'siderolabs/evil', layers: paths, destDir, ...extra });
    return destDir;
  }

  const hostile: [string, UstarEntry[], string][] = [
    ['parent traversal', [MANIFEST, file('../x')], 'entry "../x": path "../x" contains \'..\''],
    [
      'traversal in the middle',
      [file('rootfs/a/../../../x')],
      'entry "rootfs/a/../../../x": path "rootfs/a/../../../x" contains \'..\'',
    ],
    ['absolute path', [file('/abs')], 'entry "/abs": absolute path "/abs" is not allowed'],
    [
      'symlink escaping the root',
      [dirEntry('rootfs/'), link('rootfs/evil', '../../etc')],
      'entry "rootfs/evil": symlink target "../../etc" escapes the extraction root',
    ],
    [
      'writing through a symlink',
      [dirEntry('rootfs/'), link('rootfs/l', '/tmp'), file('rootfs/l/x', 'boom')],
      'entry "rootfs/l/x": parent "rootfs/l" is a symlink',
    ],
    [
      'hardlink outside',
      [{ name: 'rootfs/h', type: 'hardlink', mode: 0o644, linkname: '../../etc/passwd' }],
      'entry "rootfs/h": hardlink target "../../etc/passwd" contains \'..\'',
    ],
    [
      'hardlink to an absolute path',
      [{ name: 'rootfs/h', type: 'hardlink', mode: 0o644, linkname: '/etc/passwd' }],
      'entry "rootfs/h": absolute hardlink target "/etc/passwd" is not allowed',
    ],
    [
      'hardlink to a missing file',
      [{ name: 'rootfs/h', type: 'hardlink', mode: 0o644, linkname: 'rootfs/nothing' }],
      'entry "rootfs/h": hardlink target "rootfs/nothing" is not a regular file in the archive',
    ],
    [
      'character device',
      [{ name: 'rootfs/dev/mem', type: 'char', mode: 0o600, devmajor: 1, devminor: 1 }],
      'entry "rootfs/dev/mem": device nodes and fifos are not allowed',
    ],
    [
      'block device',
      [{ name: 'rootfs/sda', type: 'block', mode: 0o600, devmajor: 8 }],
      'entry "rootfs/sda": device nodes and fifos are not allowed',
    ],
    [
      'fifo',
      [{ name: 'rootfs/p', type: 'fifo', mode: 0o600 }],
      'entry "rootfs/p": device nodes and fifos are not allowed',
    ],
    [
      'setuid binary',
      [file('rootfs/usr/local/bin/su', '#!', 0o4755)],
      'entry "rootfs/usr/local/bin/su": setuid/setgid files are not allowed (mode 4755)',
    ],
    ['whiteout of ..', [file('rootfs/.wh...')], 'entry "rootfs/.wh...": path "rootfs/.." contains \'..\''],
  ];
  for (const [what, entries, message] of hostile) {
    test(`rejects ${what}`, async () => {
      await assert.rejects(unpack([ustarArchive(entries)]), (e: unknown) => {
        assert.ok(isFactoryError(e, 'EXTENSION_INVALID'), String(e));
        assert.equal(e.message, `extension siderolabs/evil: ${message}`);
        return true;
      });
    });
  }

  test('rejects a PAX path that climbs out (crafted with Python tarfile)', TIMEOUT, async () => {
    const path = join(dir, 'pax-evil.tar');
    await run('python3', [
      '-c',
      [
        'import io,sys,tarfile',
        'with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:',
        '  i = tarfile.TarInfo("rootfs/ok")',
        '  i.pax_headers = {"path": "rootfs/../../escape"}',
        '  t.addfile(i, io.BytesIO(b""))',
      ].join('\n'),
      path,
    ]);
    await assert.rejects(
      unpackExtensionImage({ name: 'x', layers: [path], destDir: join(dir, 'pax-out') }),
      /entry "rootfs\/..\/..\/escape": path "rootfs\/..\/..\/escape" contains '..'/,
    );
  });

  test('size and entry caps', async () => {
    await assert.rejects(
      unpack([ustarArchive([file('rootfs/a', '12345'), file('rootfs/b', '123456')])], {
        limits: { maxBytes: 10 },
      }),
      /entry "rootfs\/b": unpacked size exceeds the limit of 10 bytes/,
    );
    await assert.rejects(
      unpack([ustarArchive([dirEntry('rootfs/'), file('rootfs/a'), file('rootfs/b')])], {
        limits: { maxEntries: 2 },
      }),
      /entry "rootfs\/b": more than 2 entries/,
    );
  });

  test('setuid bits can be stripped instead', async () => {
    const out = await unpack([ustarArchive([file('rootfs/su', '#!', 0o6755)])], { setuid: 'strip' });
    assert.equal((await lstat(join(out, 'rootfs/su'))).mode & 0o7777, 0o755);
  });

  test('layers apply in order: gzip, zstd and plain; whiteouts and opaque dirs', TIMEOUT, async () => {
    const lower = ustarArchive([
      MANIFEST,
      dirEntry('rootfs/', 0o755),
      dirEntry('rootfs/b/', 0o750),
      file('rootfs/a', 'gone'),
      file('rootfs/b/c', 'gone too'),
      file('rootfs/keep', 'kept', 0o600),
    ]);
    const middle = ustarArchive([
      file('rootfs/.wh.a'),
      file('rootfs/b/.wh..wh..opq'),
      file('rootfs/b/d', 'new'),
      { name: 'rootfs/hard', type: 'hardlink', mode: 0o600, linkname: 'rootfs/keep' },
    ]);
    const upperPath = join(dir, 'upper.tar');
    await writeFile(
      upperPath,
      ustarArchive([link('rootfs/usr/lib/libx.so', 'libx.so.1'), link('rootfs/abs', '/usr/lib/x')]),
    );
    await run('zstd', ['-q', '-f', '-o', `${upperPath}.zst`, upperPath]);
    const destDir = join(dir, 'layered');
    const result = await unpackExtensionImage({
      name: 'siderolabs/ok',
      layers: [
        await layerFile(gzipSync(lower)),
        await layerFile(middle),
        { path: `${upperPath}.zst`, mediaType: 'x' },
      ],
      destDir,
    });
    assert.deepEqual((await readdir(join(destDir, 'rootfs'))).sort(), ['abs', 'b', 'hard', 'keep', 'usr']);
    assert.deepEqual(await readdir(join(destDir, 'rootfs/b')), ['d']);
    assert.equal((await lstat(join(destDir, 'rootfs/b'))).mode & 0o777, 0o750);
    assert.equal((await lstat(join(destDir, 'rootfs/keep'))).mode & 0o777, 0o600);
    assert.equal((await lstat(join(destDir, 'rootfs/keep'))).nlink, 2);
    assert.equal(await readFile(join(destDir, 'rootfs/hard'), 'utf8'), 'kept');
    assert.equal(await readlink(join(destDir, 'rootfs/usr/lib/libx.so')), 'libx.so.1');
    assert.equal(await readlink(join(destDir, 'rootfs/abs')), '/usr/lib/x');
    assert.equal(result.entries, 12);
    assert.equal(
      result.bytes,
      'version: v1alpha1\n'.length + 'gone'.length + 'gone too'.length + 'kept'.length + 'new'.length,
    );
  });

  test('records SELinux labels and refuses a non-empty destination', TIMEOUT, async () => {
    const path = join(dir, 'labels.tar');
    await run('python3', [
      '-c',
      [
        'import io,sys,tarfile',
        'with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:',
        '  i = tarfile.TarInfo("./rootfs/usr/local/bin/x")',
        '  i.pax_headers = {"SCHILY.xattr.security.selinux": "system_u:object_r:bin_t:s0\\x00"}',
        '  t.addfile(i, io.BytesIO(b""))',
      ].join('\n'),
      path,
    ]);
    const destDir = join(dir, 'labels');
    const result = await unpackExtensionImage({ name: 'x', layers: [path], destDir });
    assert.deepEqual([...result.selinuxLabels], [['rootfs/usr/local/bin/x', 'system_u:object_r:bin_t:s0']]);
    await assert.rejects(unpackExtensionImage({ name: 'x', layers: [path], destDir }), /is not empty/);
  });

  test('a corrupt layer is reported as malformed', async () => {
    const good = ustarArchive([file('rootfs/a', 'x'.repeat(2000))]);
    await assert.rejects(unpack([good.subarray(0, 1024)]), (e: unknown) => {
      return (
        isFactoryError(e, 'EXTENSION_INVALID') &&
        /layer 0: malformed tar: unexpected end of data/.test(e.message)
      );
    });
  });
});
