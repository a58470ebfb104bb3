/**
 * parseSchematic beyond the acceptance vectors: go-yaml v3's decoding rules (merge keys, aliases,
 * tags, YAML 1.1 scalars, first document only), its error texts with line and field, input
 * encodings, and the model shape handed to the rest of the factory.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFactoryError } from '../../src/errors.js';
import { createSchematic, isSchematicId, parseSchematic, schematicId } from '../../src/schematic/index.js';

const canonical = (input: string | Uint8Array): string => createSchematic(input).canonical;

/** Asserts rejection with SCHEMATIC_INVALID and returns the message. */
function rejection(input: string | Uint8Array): string {
  try {
    parseSchematic(input);
  } catch (e) {
    assert.ok(isFactoryError(e, 'SCHEMATIC_INVALID'), `expected SCHEMATIC_INVALID, got ${String(e)}`);
    return e.message;
  }
  assert.fail(`accepted: ${JSON.stringify(input)}`);
}

describe('parseSchematic: error messages', () => {
  it('reports unknown fields exactly like go-yaml v3', () => {
    assert.equal(
      rejection('something:'),
      'yaml: unmarshal errors:\n  line 1: field something not found in type schematic.Schematic',
    );
    assert.equal(
      rejection('customization:\n  extraKernelArgs: [a]\n  unknownField: 1\n'),
      'yaml: unmarshal errors:\n  line 3: field unknownField not found in type schematic.Customization',
    );
    assert.equal(
      rejection('overlay:\n  nam: x\n'),
      'yaml: unmarshal errors:\n  line 2: field nam not found in type schematic.Overlay',
    );
  });

  it('reports duplicate keys with both lines', () => {
    assert.equal(
      rejection('customization: {}\ncustomization: {}\n'),
      'yaml: unmarshal errors:\n  line 2: mapping key "customization" already defined at line 1',
    );
    assert.match(
      rejection('overlay:\n  name: x\n  options: {a: 1, a: 2}\n'),
      /line 3: mapping key "a" already defined at line 3/,
    );
  });

  it('reports type errors with the Go type, line and field path', () => {
    assert.equal(
      rejection('customization:\n  meta:\n    - key: 256\n      value: x\n'),
      'yaml: unmarshal errors:\n  line 3: cannot unmarshal !!int `256` into uint8 (field customization.meta[0].key)',
    );
    assert.match(
      rejection('customization:\n  meta:\n    - key: "10"\n'),
      /line 3: cannot unmarshal !!str `10` into uint8 \(field customization\.meta\[0\]\.key\)/,
    );
    assert.match(
      rejection('customization:\n  diskImage: {sectorSize: -1}\n'),
      /cannot unmarshal !!int `-1` into uint \(field customization\.diskImage\.sectorSize\)/,
    );
    assert.match(
      rejection('customization: {extraKernelArgs: vga=791}'),
      /cannot unmarshal !!str `vga=791` into \[\]string/,
    );
    assert.match(
      rejection('customization: {extraKernelArgs: [a, {b: c}]}'),
      /cannot unmarshal !!map into string \(field customization\.extraKernelArgs\[1\]\)/,
    );
    assert.match(
      rejection('customization: {secureboot: {includeWellKnownCertificates: 1}}'),
      /!!int `1` into bool/,
    );
    assert.match(
      rejection('customization: {embeddedMachineConfiguration: "a very long value"}\nx: 1'),
      /field x not found/,
    );
    assert.match(
      rejection('customization: {meta: [{key: a very long key value}]}'),
      /`a very ...` into uint8/,
    );
    assert.equal(
      rejection('[1,2]'),
      'yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into schematic.Schematic',
    );
    assert.equal(
      rejection('foo'),
      'yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `foo` into schematic.Schematic',
    );
  });

  it('collects several type errors in one message', () => {
    assert.equal(
      rejection('a: 1\ncustomization:\n  b: 2\n'),
      'yaml: unmarshal errors:\n  line 1: field a not found in type schematic.Schematic\n  line 3: field b not found in type schematic.Customization',
    );
  });

  it('rejects empty bodies with EOF, but accepts an explicit empty document', () => {
    assert.equal(rejection(''), 'EOF');
    assert.equal(rejection('# only a comment\n\n'), 'EOF');
    assert.equal(rejection('   \n'), 'EOF');
    assert.equal(canonical('---\n'), 'customization: {}\n');
    assert.equal(canonical('~'), 'customization: {}\n');
  });

  it('rejects owner (community edition) and the auto bootloader', () => {
    assert.equal(rejection('owner: alice\n'), 'owner field is only supported in Enterprise edition');
    assert.equal(
      rejection('customization:\n  bootloader: auto\n'),
      'yaml: line 2: auto does not belong to BootloaderKind values (field customization.bootloader)',
    );
    assert.match(rejection('customization: {bootloader: ""}'), /does not belong to BootloaderKind values/);
  });

  it('reports syntax errors with a line number', () => {
    assert.match(rejection('customization:\n  extraKernelArgs: [a\n'), /^yaml: line \d+: /);
    assert.match(rejection('a: b: c'), /^yaml: line 1: /);
    assert.equal(
      rejection('customization: {extraKernelArgs: [*nope]}'),
      "yaml: line 1: unknown anchor 'nope' referenced",
    );
  });
});

describe('parseSchematic: go-yaml decoding rules', () => {
  it('keeps the source text of scalars decoded into strings', () => {
    assert.equal(
      canonical('customization: {extraKernelArgs: [1, true, 0x10, 1.50, ~x]}'),
      'customization:\n    extraKernelArgs:\n        - "1"\n        - "true"\n        - "0x10"\n        - "1.50"\n        - ~x\n',
    );
  });

  it('drops null items from string lists (go-yaml leaves them unset)', () => {
    assert.deepEqual(
      parseSchematic('customization: {extraKernelArgs: [a, ~, null, "", b]}').customization.extraKernelArgs,
      ['a', '', 'b'],
    );
  });

  it('resolves typed fields with YAML 1.1 leniency', () => {
    assert.deepEqual(
      parseSchematic('customization: {meta: [{key: 0xa, value: x}, {key: 0o17}, {key: 1_0}]}').customization
        .meta,
      [
        { key: 10, value: 'x' },
        { key: 15, value: '' },
        { key: 10, value: '' },
      ],
    );
    for (const yes of ['yes', 'on', 'Y', '"yes"', 'true', 'True']) {
      assert.equal(
        parseSchematic(`customization: {secureboot: {includeWellKnownCertificates: ${yes}}}`).customization
          .secureboot?.includeWellKnownCertificates,
        true,
        yes,
      );
    }
    assert.equal(
      parseSchematic('customization: {secureboot: {includeWellKnownCertificates: off}}').customization
        .secureboot,
      undefined,
    );
    assert.equal(parseSchematic('customization: {bootloader: SD-Boot}').customization.bootloader, 'sd-boot');
    assert.equal(parseSchematic('customization: {bootloader: none}').customization.bootloader, undefined);
    assert.equal(
      parseSchematic('customization: {diskImage: {sectorSize: 4_096}}').customization.diskImage?.sectorSize,
      4096,
    );
  });

  it('treats null and empty values as absent', () => {
    assert.equal(canonical('customization:\noverlay:\n'), 'customization: {}\n');
    assert.equal(
      canonical('customization: {meta: null, systemExtensions: ~, diskImage: {sectorSize: ~}}'),
      'customization: {}\n',
    );
  });

  it('applies << merge keys: own keys win', () => {
    assert.equal(
      canonical(
        'customization:\n  extraKernelArgs: [own]\n  <<: {extraKernelArgs: [merged], bootloader: grub}\n',
      ),
      'customization:\n    extraKernelArgs:\n        - own\n    bootloader: grub\n',
    );
    assert.equal(
      canonical('overlay:\n  name: x\n  options:\n    base: &b {a: 1, b: 2}\n    derived: {<<: *b, b: 3}\n'),
      'overlay:\n    image: ""\n    name: x\n    options:\n        base:\n            a: 1\n            b: 2\n        derived:\n            a: 1\n            b: 3\ncustomization: {}\n',
    );
    assert.match(rejection('customization: {<<: [a]}'), /map merge requires map or sequence of maps/);
  });

  it('expands aliases and rejects self-referencing anchors', () => {
    assert.equal(
      canonical(
        'customization:\n  extraKernelArgs: &args [a, b]\n  systemExtensions: {officialExtensions: *args}\n',
      ),
      'customization:\n    extraKernelArgs:\n        - a\n        - b\n    systemExtensions:\n        officialExtensions:\n            - a\n            - b\n',
    );
    assert.match(
      rejection('overlay:\n  name: x\n  options: &o {a: *o}\n'),
      /anchor 'o' value contains itself/,
    );
  });

  it('honours explicit tags the way go-yaml does', () => {
    assert.equal(
      canonical('customization: {extraKernelArgs: [!!str 0x10, !custom x]}'),
      'customization:\n    extraKernelArgs:\n        - "0x10"\n        - x\n',
    );
    assert.equal(
      canonical('customization: {meta: [{key: !!int "12"}]}'),
      'customization:\n    meta:\n        - key: 12\n          value: ""\n',
    );
    assert.match(
      rejection('customization: {meta: [{key: !!int abc}]}'),
      /cannot decode !!str `abc` as a !!int/,
    );
    assert.equal(
      canonical('overlay: {name: x, options: {b: !!binary aGVsbG8=}}'),
      'overlay:\n    image: ""\n    name: x\n    options:\n        b: hello\ncustomization: {}\n',
    );
  });

  it('normalises overlay options like go-yaml decoding into map[string]any', () => {
    assert.equal(
      canonical(
        'overlay:\n  name: x\n  options:\n    i: 0x1F\n    f: 1.50\n    e: 1e3\n    big: 12345678901234567890\n    huge: 100000000000000000000\n' +
          '    t: 2001-12-14t21:59:43.10-05:00\n    s: "2001-01-01"\n    n: ~\n    inf: -.inf\n    m: {2: b, 1: a}\n',
      ),
      'overlay:\n    image: ""\n    name: x\n    options:\n        big: 12345678901234567890\n        e: 1000\n        f: 1.5\n' +
        '        huge: 1e+20\n        i: 31\n        inf: -.inf\n        m:\n            1: a\n            2: b\n        "n": null\n' +
        '        s: "2001-01-01"\n        t: 2001-12-14T21:59:43.1-05:00\ncustomization: {}\n',
    );
  });

  it('reads only the first document', () => {
    assert.equal(canonical('customization: {}\n---\nfoo: bar\n'), 'customization: {}\n');
    assert.equal(canonical('customization: {}\n---\n[[[ not yaml'), 'customization: {}\n');
    assert.equal(canonical('customization: {}\n...\n'), 'customization: {}\n');
  });

  it('follows libyaml for quoted scalars (YAML 1.1 escapes and line breaks)', () => {
    assert.deepEqual(
      parseSchematic('customization: {extraKernelArgs: ["it\\\'s"]}').customization.extraKernelArgs,
      ["it's"],
    );
    assert.match(rejection('customization: {extraKernelArgs: ["a\\/b"]}'), /found unknown escape character/);
    assert.match(
      rejection('customization: {extraKernelArgs: ["\\ud83d\\ude00"]}'),
      /invalid Unicode character escape code/,
    );
    assert.deepEqual(
      parseSchematic('customization: {extraKernelArgs: ["\\U0001F600"]}').customization.extraKernelArgs,
      ['\u{1F600}'],
    );
    assert.deepEqual(
      parseSchematic('{"customization": {"extraKernelArgs": ["\u0085x"]}}').customization.extraKernelArgs,
      [' x'],
    );
    assert.deepEqual(
      parseSchematic('customization:\n  extraKernelArgs:\n    - "a\n      b\n\n      c\\\n      d"\n')
        .customization.extraKernelArgs,
      ['a b\ncd'],
    );
    assert.deepEqual(
      parseSchematic("customization: {extraKernelArgs: ['a''b', '  x  ']}").customization.extraKernelArgs,
      ["a'b", '  x  '],
    );
  });

  it('accepts %YAML 1.1 only', () => {
    assert.equal(canonical('%YAML 1.1\n---\ncustomization: {}\n'), 'customization: {}\n');
    assert.match(rejection('%YAML 1.2\n---\ncustomization: {}\n'), /found incompatible YAML document/);
  });

  it('rejects duplicate and unknown directives like libyaml (issue 11; texts from the Go oracle)', () => {
    assert.equal(
      rejection('%YAML 1.1\n%YAML 1.1\n---\ncustomization: {}\n'),
      'yaml: line 1: found duplicate %YAML directive',
    );
    assert.equal(
      rejection('%TAG ! tag:x,2000:\n%TAG ! tag:y,2000:\n--- {}'),
      'yaml: line 1: found duplicate %TAG directive',
    );
    assert.equal(rejection('#c\n%FOO\n--- {}'), 'yaml: line 2: found unknown directive name');
    assert.equal(canonical('%TAG !a! tag:x,2000:\n%TAG !b! tag:y,2000:\n--- {}'), 'customization: {}\n');
  });
});

describe('parseSchematic: input encodings', () => {
  it('reads UTF-8 with or without BOM and UTF-16 with BOM', () => {
    const text = 'customization: {extraKernelArgs: [é]}\n';
    const expected = canonical(text);
    assert.equal(canonical(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])), expected);
    assert.equal(canonical(`\ufeff${text}`), expected);
    assert.equal(
      canonical(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])),
      expected,
    );
    const be = Buffer.from(text, 'utf16le').swap16();
    assert.equal(canonical(Buffer.concat([Buffer.from([0xfe, 0xff]), be])), expected);
  });

  it('rejects invalid UTF-8 and control characters', () => {
    assert.match(rejection(new Uint8Array([0x61, 0x3a, 0x20, 0xc3, 0x28])), /not valid UTF-8/);
    assert.equal(rejection('customization: {}\n\x01'), 'yaml: line 2: control characters are not allowed');
    assert.match(rejection('a: "\ud800"'), /control characters are not allowed/);
  });
});

describe('parseSchematic: limits', () => {
  it('caps nesting depth', () => {
    assert.match(rejection(`customization: ${'['.repeat(10_000)}`), /exceeded max depth of 64/);
    assert.match(rejection(`${'- '.repeat(10_000)}x`), /exceeded max depth of 64/);
    const ok = `overlay: {name: x, options: {a: ${'['.repeat(55)}${']'.repeat(55)}}}`;
    assert.equal(parseSchematic(ok).overlay?.name, 'x');
  });

  it('stops alias expansion bombs', () => {
    let doc = 'overlay:\n  name: x\n  options:\n    a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 10; i++)
      doc += `    a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]\n`;
    assert.match(rejection(doc), /document contains excessive aliasing/);
  });

  it('bounds the number of reported errors', () => {
    const message = rejection(Array.from({ length: 1000 }, (_, i) => `k${i}: 1`).join('\n'));
    assert.ok(message.split('\n').length < 100);
    assert.match(message, /further errors not reported/);
  });
});

describe('schematic model and IDs', () => {
  it('returns a frozen model with only non-empty fields', () => {
    const s = parseSchematic(
      'customization: {extraKernelArgs: [a], meta: [], secureboot: {enrollKeys: force}}\noverlay: {name: n}',
    );
    assert.deepEqual(s, {
      customization: { extraKernelArgs: ['a'], secureboot: { enrollKeys: 'force' } },
      overlay: { image: '', name: 'n' },
    });
    assert.ok(
      Object.isFrozen(s) &&
        Object.isFrozen(s.customization) &&
        Object.isFrozen(s.customization.extraKernelArgs),
    );
  });

  it('computes lowercase sha256 IDs and recognises their shape', () => {
    const id = schematicId('customization: {}\n');
    assert.equal(id, '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba');
    assert.ok(isSchematicId(id));
    assert.ok(!isSchematicId(id.toUpperCase()));
    assert.ok(!isSchematicId(id.slice(1)));
    assert.ok(!isSchematicId('aaaaaaaaaaaa'));
  });
});
