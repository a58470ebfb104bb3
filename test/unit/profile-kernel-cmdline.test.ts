import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KernelCmdline, type AppendAllOptions } from '../../src/profile/kernel-cmdline.js';

describe('KernelCmdline (go-procfs v0.1.2 semantics)', () => {
  it('parses key groups in first-appearance order and prints values together', () => {
    const c = KernelCmdline.parse('boot=xyz root=/dev/abc nogui console=tty0 console=ttyS0,9600');
    assert.equal(c.toString(), 'boot=xyz root=/dev/abc nogui console=tty0 console=ttyS0,9600');
    assert.deepEqual(c.get('console'), ['tty0', 'ttyS0,9600']);
    assert.deepEqual(c.get('nogui'), ['']);
    assert.equal(c.get('missing'), undefined);
  });

  it('splits only at the first "=" and groups repeated keys at their first position', () => {
    assert.deepEqual(KernelCmdline.parse('root=/dev/abc=1 nogui').get('root'), ['/dev/abc=1']);
    assert.equal(KernelCmdline.parse('a=1 b=2 a=3').toString(), 'a=1 a=3 b=2');
  });

  it('prints an empty value as a bare key: `key=` and `key` are the same', () => {
    assert.equal(
      KernelCmdline.parse('slab_nomerge= pti=on slab_nomerge').toString(),
      'slab_nomerge slab_nomerge pti=on',
    );
  });

  it('splits on Go whitespace (tabs, newlines, NBSP, NEL) but not on U+FEFF', () => {
    assert.equal(KernelCmdline.parse('a=1\tb=2\nc\u00a0d\u0085e').toString(), 'a=1 b=2 c d e');
    assert.equal(KernelCmdline.parse('a\ufeffb').toString(), 'a\ufeffb');
  });

  it('append adds values to an existing key or a new key at the end', () => {
    const c = KernelCmdline.parse('root=/dev/sda root=/dev/sdb');
    c.append('root', '/dev/sdc').append('console', 'tty0');
    assert.equal(c.toString(), 'root=/dev/sda root=/dev/sdb root=/dev/sdc console=tty0');
  });

  it('setAll replaces the whole value list in place, or adds at the end', () => {
    assert.equal(
      new KernelCmdline().setAll(['root=/dev/sda', 'root=/dev/sdb']).toString(),
      'root=/dev/sda root=/dev/sdb',
    );
    assert.equal(
      KernelCmdline.parse('root=/dev/sdb root=/dev/sdc aye=sir').setAll(['root=/dev/mmcblk0']).toString(),
      'root=/dev/mmcblk0 aye=sir',
    );
  });

  const deleteCases: [string, string, string[], string][] = [
    ['console=tty0', 'console', [''], 'console=tty0'],
    ['console=tty0', 'console', ['tty'], 'console=tty0'],
    ['console=tty0', 'console', ['tty0'], ''],
    ['console=tty0 console=ttyS0,9600', 'console', ['ttyS0,9600'], 'console=tty0'],
    [
      'console=tty0 console=ttyS0,9600 root=/dev/sda panic=0 console=ttyS0,115000',
      'console',
      ['ttyS0,9600'],
      'console=tty0 console=ttyS0,115000 root=/dev/sda panic=0',
    ],
    ['root=/dev/sda panic=0', 'console', ['ttyS0,9600'], 'root=/dev/sda panic=0'],
    ['console=tty0 console=ttyS0,9600', 'console', ['ttyS0,9600', 'tty0'], ''],
    [
      'console=tty0 console=ttyS0,9600 root=/dev/sda panic=0 console=ttyS0,115000',
      'consoles',
      ['ttyS0,9600'],
      'console=tty0 console=ttyS0,9600 console=ttyS0,115000 root=/dev/sda panic=0',
    ],
  ];
  for (const [initial, key, values, expected] of deleteCases) {
    it(`delete ${key}=${values.join('|')} from "${initial}"`, () => {
      assert.equal(KernelCmdline.parse(initial).delete(key, values).toString(), expected);
    });
  }

  it('deleteAll removes the key entirely', () => {
    const c = KernelCmdline.parse(
      'console=tty0 console=ttyS0,9600 root=/dev/sda panic=0 console=ttyS0,115000',
    );
    assert.equal(c.deleteAll('console').toString(), 'root=/dev/sda panic=0');
    assert.equal(c.get('console'), undefined);
  });

  it('a key with all values deleted keeps its position: a later append reappears there', () => {
    const c = KernelCmdline.parse('a=1 b=2 c=3').delete('b', ['2']);
    assert.equal(c.toString(), 'a=1 c=3');
    assert.deepEqual(c.get('b'), []);
    assert.equal(c.append('b', '9').toString(), 'a=1 b=9 c=3');
  });

  const DN: AppendAllOptions = { deleteNegated: true };
  const OW_DN: AppendAllOptions = { overwrite: ['console'], deleteNegated: true };
  const appendAllCases: [string, string[], AppendAllOptions, string][] = [
    [
      'ip=dhcp console=x root=/dev/sdc',
      ['root=/dev/sda', 'root=/dev/sdb'],
      {},
      'ip=dhcp console=x root=/dev/sdc root=/dev/sda root=/dev/sdb',
    ],
    ['root=/dev/sdb', ['this=that=those'], {}, 'root=/dev/sdb this=that=those'],
    [
      'console=tty0 console=ttyS0 root=/dev/sdb',
      ['console=tty0', 'console=ttyS1,115200', 'nogui'],
      {},
      'console=tty0 console=ttyS0 console=tty0 console=ttyS1,115200 root=/dev/sdb nogui',
    ],
    [
      'console=tty0 console=ttyS0 root=/dev/sdb',
      ['console=tty0', 'console=ttyS1,115200', 'nogui'],
      { overwrite: ['console'] },
      'console=tty0 console=ttyS1,115200 root=/dev/sdb nogui',
    ],
    ['console=tty0 console=ttyS0 root=/dev/sdb', ['-console', 'nogui'], OW_DN, 'root=/dev/sdb nogui'],
    ['console=tty0 console=ttyS0,9600 root=/dev/sdb', ['-console', 'nogui'], DN, 'root=/dev/sdb nogui'],
    [
      'console=tty0 console=ttyS0,9600 root=/dev/sdb',
      ['-console=ttyS0,9600', 'nogui'],
      DN,
      'console=tty0 root=/dev/sdb nogui',
    ],
    [
      'console=tty0 console=ttyS0 root=/dev/sdb',
      ['-console=tty0', 'nogui'],
      OW_DN,
      'console=ttyS0 root=/dev/sdb nogui',
    ],
    [
      'console=tty0 console=ttyS0 root=/dev/sdb',
      ['-console', 'nogui', 'console=ttyAMA0'],
      OW_DN,
      'root=/dev/sdb nogui console=ttyAMA0',
    ],
    [
      'console=tty0 console=ttyS0 root=/dev/sdb',
      ['-console=tty0', 'nogui', 'console=ttyAMA0'],
      DN,
      'console=ttyS0 console=ttyAMA0 root=/dev/sdb nogui',
    ],
    [
      'console=tty0 console=ttyS0 root=/dev/sdb',
      ['-console=tty0', 'nogui', 'console=ttyAMA0'],
      OW_DN,
      'console=ttyAMA0 root=/dev/sdb nogui',
    ],
    // Without deleteNegated, `-key` is just another key.
    ['console=tty0', ['-console'], {}, 'console=tty0 -console'],
    // A lone `-` is a kernel arg, never a negation.
    ['a=1', ['-'], DN, 'a=1 -'],
    // Only the group's FIRST value decides: `-a=1 -a` deletes the values "1" and "" only.
    ['a=1 a=2', ['-a=1', '-a'], DN, 'a=2'],
    // `-a -a=1`: first value is "" → the whole key goes.
    ['a=1 a=2', ['-a', '-a=1'], DN, ''],
    // Groups are formed before applying: `a=3 -a` appends 3, then deletes the whole key.
    ['a=1', ['a=3', '-a'], DN, ''],
    // Negating a missing key is a no-op.
    ['b=1', ['-a', '-c=2'], DN, 'b=1'],
    // Args containing spaces are split like the joined string.
    ['', ['x=1 y=2', 'x=3'], {}, 'x=1 x=3 y=2'],
  ];
  for (const [initial, args, options, expected] of appendAllCases) {
    it(`appendAll ${JSON.stringify(args)} ${JSON.stringify(options)} onto "${initial}"`, () => {
      assert.equal(KernelCmdline.parse(initial).appendAll(args, options).toString(), expected);
    });
  }

  it('an arg "=" parses to an empty key and prints as nothing, with trailing spaces trimmed', () => {
    assert.equal(KernelCmdline.parse('a =').toString(), 'a');
    assert.equal(KernelCmdline.parse('= a').toString(), ' a');
    assert.equal(KernelCmdline.parse('=x').toString(), '=x');
  });
});
