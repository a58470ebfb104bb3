/**
 * The go-yaml v3 emitter on shapes beyond schematics: the extension manifest and initramfs
 * extensions.yaml structs (exact bytes from image-factory.md §9 / talos-imager errata E6), natural
 * key order, number and time formatting, scalar styles and block scalar headers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  emitYaml,
  formatGoFloat,
  formatRfc3339Nano,
  go,
  parseGoTimestamp,
  type GoNode,
} from '../../src/schematic/goyaml/index.js';

const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';

function manifest(meta: {
  name: string;
  version: string;
  author: string;
  description: string;
  extraInfo?: string;
}): GoNode {
  return go.struct([
    go.field('version', go.str('v1alpha1')),
    go.field(
      'metadata',
      go.struct([
        go.field('name', go.str(meta.name)),
        go.field('version', go.str(meta.version)),
        go.field('author', go.str(meta.author)),
        go.field('description', go.str(meta.description)),
        go.field(
          'compatibility',
          go.struct([go.field('talos', go.struct([go.field('version', go.str('>= 1.0.0'))]))]),
        ),
        go.field('extraInfo', go.str(meta.extraInfo ?? ''), true),
      ]),
    ),
  ]);
}

describe('goyaml emitter: Go structs', () => {
  it('writes the b730f09 flavor manifest byte for byte', () => {
    const yaml = emitYaml(
      manifest({
        name: 'flavor',
        version: EMPTY_ID,
        author: 'Image Service',
        description: 'Virtual extension which specifies the flavor of the image built with Image Service.',
      }),
    );
    assert.equal(
      yaml,
      `version: v1alpha1\nmetadata:\n    name: flavor\n    version: ${EMPTY_ID}\n    author: Image Service\n` +
        '    description: Virtual extension which specifies the flavor of the image built with Image Service.\n' +
        "    compatibility:\n        talos:\n            version: '>= 1.0.0'\n",
    );
  });

  it('writes extraInfo as a literal block indented 8', () => {
    const yaml = emitYaml(
      manifest({
        name: 'schematic',
        version: EMPTY_ID,
        author: 'Image Factory (https://factory.talos.dev/)',
        description: 'Virtual extension which specifies the schematic of the image built with schematic.',
        extraInfo: 'customization: {}\n',
      }),
    );
    assert.ok(
      yaml.endsWith("            version: '>= 1.0.0'\n    extraInfo: |\n        customization: {}\n"),
      yaml,
    );
    assert.ok(yaml.includes('    author: Image Factory (https://factory.talos.dev/)\n'));
  });

  it('writes extensions.yaml layers (numeric-looking versions double-quoted)', () => {
    const layer = (image: string, name: string, version: string, description: string): GoNode =>
      go.struct([
        go.field('image', go.str(image)),
        go.field(
          'metadata',
          go.struct([
            go.field('name', go.str(name)),
            go.field('version', go.str(version)),
            go.field('author', go.str('Sidero Labs')),
            go.field('description', go.str(description)),
            go.field(
              'compatibility',
              go.struct([go.field('talos', go.struct([go.field('version', go.str('>= v1.0.0'))]))]),
            ),
          ]),
        ),
      ]);
    const yaml = emitYaml(
      go.struct([
        go.field(
          'layers',
          go.seq([
            layer('0.sqsh', 'gvisor', '20230807.0', 'This system extension provides gVisor.\nSecond line.\n'),
            layer(
              'modules.dep.sqsh',
              'modules.dep',
              '6.1.54-talos',
              'Combined modules.dep for all extensions',
            ),
          ]),
        ),
      ]),
    );
    assert.equal(
      yaml,
      [
        'layers:',
        '    - image: 0.sqsh',
        '      metadata:',
        '        name: gvisor',
        '        version: "20230807.0"',
        '        author: Sidero Labs',
        '        description: |',
        '            This system extension provides gVisor.',
        '            Second line.',
        '        compatibility:',
        '            talos:',
        "                version: '>= v1.0.0'",
        '    - image: modules.dep.sqsh',
        '      metadata:',
        '        name: modules.dep',
        '        version: 6.1.54-talos',
        '        author: Sidero Labs',
        '        description: Combined modules.dep for all extensions',
        '        compatibility:',
        '            talos:',
        "                version: '>= v1.0.0'",
        '',
      ].join('\n'),
    );
  });

  it('applies omitempty like Go isZero and writes empty collections in flow style', () => {
    const yaml = emitYaml(
      go.struct([
        go.field('a', go.str(''), true),
        go.field('b', go.int(0), true),
        go.field('c', go.bool(false), true),
        go.field('d', go.struct([go.field('x', go.seq([]))]), true),
        go.field('e', go.struct([])),
        go.field('f', go.seq([])),
        go.field('g', go.map([])),
        go.field('h', go.null()),
        go.field('i', go.str('')),
      ]),
    );
    assert.equal(yaml, 'e: {}\nf: []\ng: {}\nh: null\ni: ""\n');
  });

  it('writes a scalar document and a sequence of sequences', () => {
    assert.equal(emitYaml(go.str('x')), 'x\n');
    assert.equal(emitYaml(go.str('a\nb')), '|-\n    a\n    b\n');
    assert.equal(emitYaml(go.seq([go.seq([go.str('a'), go.str('b')]), go.seq([])])), '- - a\n  - b\n- []\n');
  });

  it('honours another indent width', () => {
    assert.equal(
      emitYaml(go.struct([go.field('a', go.struct([go.field('b', go.seq([go.int(1)]))]))]), { indent: 2 }),
      'a:\n  b:\n    - 1\n',
    );
  });
});

describe('goyaml emitter: map keys', () => {
  it('sorts keys in go-yaml natural order', () => {
    const keys = ['big', 'b', 'a10', '10', '_x', 'B', '2', 'a9', '1'];
    const yaml = emitYaml(go.map(keys.map((k) => [go.str(k), go.int(1)] as const)));
    assert.deepEqual(
      yaml
        .trimEnd()
        .split('\n')
        .map((l) => l.split(':')[0]),
      ['_x', '"1"', '"2"', '"10"', 'B', 'a9', 'a10', 'b', 'big'],
    );
  });

  it('sorts digit runs by value with leading zeros and letters after digits', () => {
    const keys = ['x10', 'x9', 'x09', 'x1a', 'x1', 'xa', 'x0', 'x00'];
    const order = emitYaml(go.map(keys.map((k) => [go.str(k), go.null()] as const)))
      .trimEnd()
      .split('\n')
      .map((l) => l.split(':')[0]);
    assert.deepEqual(order, ['x0', 'x00', 'x1', 'x1a', 'x9', 'x09', 'x10', 'xa']);
  });

  it('orders numeric keys numerically and other kinds by Go kind', () => {
    const yaml = emitYaml(
      go.map([
        [go.str('s'), go.int(1)],
        [go.int(10), go.int(2)],
        [go.float(2.5), go.int(3)],
        [go.bool(true), go.int(4)],
        [go.int(1), go.int(5)],
        [go.null(), go.int(6)],
      ]),
    );
    assert.equal(yaml, 'true: 4\n1: 5\n2.5: 3\n10: 2\nnull: 6\ns: 1\n');
  });

  it('uses "? " for keys that cannot be simple keys', () => {
    const long = 'k'.repeat(129);
    assert.equal(emitYaml(go.map([[go.str(long), go.int(1)]])), `? ${long}\n: 1\n`);
    assert.equal(emitYaml(go.map([[go.str('k'.repeat(128)), go.int(1)]])), `${'k'.repeat(128)}: 1\n`);
    assert.equal(emitYaml(go.map([[go.str('a\nb'), go.int(1)]])), '? |-\n    a\n    b\n: 1\n');
  });
});

describe('goyaml emitter: scalars', () => {
  const item = (s: string): string => emitYaml(go.seq([go.str(s)]));

  it('quotes strings that would read back as another type', () => {
    for (const s of [
      'true',
      'Null',
      '~',
      '',
      '0x1F',
      '1_000',
      '+1',
      '.5',
      '1e3',
      '.inf',
      '2001-01-01',
      '2001-1-1 10:00:00',
      'yes',
      'N',
      '12:30',
    ]) {
      assert.equal(item(s), `- ${JSON.stringify(s)}\n`, s);
    }
    for (const s of ['NaN', 'Infinity', '1.2.3', 'v1.2', '1:60', '<<', '2001-13-01', '1e400', '._5', '0x']) {
      assert.equal(item(s), `- ${s}\n`, s);
    }
  });

  it('single-quotes indicators and doubles embedded quotes', () => {
    assert.equal(item("'q'"), "- '''q'''\n");
    assert.equal(item('- x'), "- '- x'\n");
    assert.equal(item('a: b'), "- 'a: b'\n");
    assert.equal(item('---'), "- '---'\n");
  });

  it('escapes in double quotes like libyaml', () => {
    assert.equal(item('a\tb'), '- "a\\tb"\n');
    assert.equal(item('\x00\x07\x1b\x7f'), '- "\\0\\a\\e\\x7F"\n');
    assert.equal(item('a\r\nb'), '- "a\\r\\nb"\n');
    // LS is a (printable) YAML 1.1 line break: single quotes, written raw, then re-indented.
    assert.equal(item('\u2028x\u00a0'), "- '\u2028  x\u00a0'\n");
    assert.equal(item('\u{1F600}'), '- "\\U0001F600"\n');
    assert.equal(item('\ufeffa b'), '- "\\uFEFF\\x61\\x20\\x62"\n');
  });

  it('chooses literal block headers: chomping and indentation indicators', () => {
    assert.equal(item('a\nb'), '- |-\n  a\n  b\n');
    assert.equal(item('a\n'), '- |\n  a\n');
    assert.equal(item('a\n\n'), '- |+\n  a\n\n');
    assert.equal(item(' a\nb'), '- |4-\n   a\n  b\n');
    assert.equal(item('a\t\nb'), '- |-\n  a\t\n  b\n');
    assert.equal(item('a \nb'), '- "a \\nb"\n');
    assert.equal(emitYaml(go.struct([go.field('k', go.str('x\ny\n'))])), 'k: |\n    x\n    y\n');
    assert.equal(emitYaml(go.seq([go.struct([go.field('k', go.str('x\ny'))])])), '- k: |-\n    x\n    y\n');
  });
});

describe('goyaml numbers and times', () => {
  it('formats floats like strconv.FormatFloat(f, g, -1, 64)', () => {
    const cases: [number, string][] = [
      [1, '1'],
      [1000, '1000'],
      [2.5, '2.5'],
      [100000, '100000'],
      [1e6, '1e+06'],
      [1234567, '1.234567e+06'],
      [1e20, '1e+20'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [123456.7, '123456.7'],
      [-0, '-0'],
      [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [0.1 + 0.2, '0.30000000000000004'],
    ];
    for (const [f, s] of cases) assert.equal(formatGoFloat(f), s, String(f));
    assert.equal(
      emitYaml(go.seq([go.float(NaN), go.float(Infinity), go.float(-Infinity), go.float(1e20)])),
      '- .nan\n- .inf\n- -.inf\n- 1e+20\n',
    );
  });

  it('writes integers in decimal, including uint64', () => {
    assert.equal(
      emitYaml(go.seq([go.int(-5), go.int(18446744073709551615n)])),
      '- -5\n- 18446744073709551615\n',
    );
  });

  it('parses go-yaml timestamps and renders RFC3339Nano', () => {
    const render = (s: string): string | undefined => {
      const t = parseGoTimestamp(s);
      return t && formatRfc3339Nano(t);
    };
    assert.equal(render('2001-01-01'), '2001-01-01T00:00:00Z');
    assert.equal(render('2001-12-14t21:59:43.10-05:00'), '2001-12-14T21:59:43.1-05:00');
    assert.equal(render('2001-12-14 21:59:43.123456789123'), '2001-12-14T21:59:43.123456789Z');
    assert.equal(render('2001-2-3T4:5:6+00:00'), '2001-02-03T04:05:06Z');
    assert.equal(render('2001-02-29'), undefined);
    assert.equal(render('2000-02-29'), '2000-02-29T00:00:00Z');
    assert.equal(render('2001-01-01T25:00:00Z'), undefined);
    assert.equal(render('01-01-01'), undefined);
    assert.equal(render('2001-01-01x'), undefined);
  });
});
