/**
 * Property tests for the schematic parser/emitter under arbitrary and hostile input (fixed seed,
 * bounded runs). Bad input only ever yields FactoryError SCHEMATIC_INVALID; accepted input yields
 * a canonical form that is stable under parse → emit. Hangs are bounded by the file timeout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isFactoryError } from '../../src/errors.js';
import {
  canonicalYaml,
  createSchematic,
  parseSchematic,
  schematicId,
  type CreatedSchematic,
} from '../../src/schematic/index.js';
import { schematicVectors } from '../helpers/vectors.js';

const SEED = 20240917;

/** Parses `input`; returns the result, or undefined after checking the failure is SCHEMATIC_INVALID. */
function attempt(input: string | Uint8Array): CreatedSchematic | undefined {
  try {
    return createSchematic(input);
  } catch (e) {
    assert.ok(
      isFactoryError(e, 'SCHEMATIC_INVALID'),
      `unexpected ${String(e)} for ${JSON.stringify(String(input)).slice(0, 200)}`,
    );
    assert.ok(e.message.length > 0);
    return undefined;
  }
}

// Two go-yaml v3 outputs do not read back, so they are excluded from the stability property:
// a literal block with an indentation indicator ("|4-", for text starting with a space or line
// break) inside a sequence item or holding only line breaks, and a plain `<<` map key (v3 does not
// quote it, and reading it back makes it a merge key).
const LOSSY = [/\|[1-9][-+]?\n/, /^[ -]*<<:/m];

/** parse(canonical) re-emits the same bytes and hence the same ID. */
function assertStable(created: CreatedSchematic): void {
  if (LOSSY.some((re) => re.test(created.canonical))) return;
  const again = createSchematic(created.canonical);
  assert.equal(again.canonical, created.canonical);
  assert.equal(again.id, created.id);
  assert.equal(schematicId(created.canonical), created.id);
}

describe('schematic parser under arbitrary input', { timeout: 60_000 }, () => {
  const inputs = schematicVectors().map((v) => v.input);

  it('mutated vector inputs: SCHEMATIC_INVALID or a stable canonical form', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...inputs),
        fc.nat(),
        fc.string({ maxLength: 8, unit: 'binary' }),
        fc.nat({ max: 6 }),
        (input, pos, insert, cut) => {
          const p = input.length ? pos % (input.length + 1) : 0;
          const created = attempt(input.slice(0, p) + insert + input.slice(p + cut));
          if (created) assertStable(created);
        },
      ),
      { seed: SEED, numRuns: 600 },
    );
  });

  it('random bytes never escape as anything but SCHEMATIC_INVALID', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const created = attempt(bytes);
        if (created) assertStable(created);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('random YAML-ish token soup', () => {
    const token = fc.constantFrom(
      'customization:',
      'overlay:',
      'extraKernelArgs:',
      'meta:',
      'key:',
      'value:',
      'options:',
      'name:',
      'image:',
      '- ',
      '? ',
      ': ',
      '{',
      '}',
      '[',
      ']',
      ',',
      '&a ',
      '*a',
      '!!str ',
      '!!int ',
      '<<: ',
      '"',
      "'",
      '|',
      '>-',
      '\n',
      '\n  ',
      '\n    ',
      '#c',
      '---\n',
      '...\n',
      '~',
      'null',
      '0x1F',
      '1e3',
      'yes',
      'x',
      ' ',
      '\t',
      '%YAML 1.1\n',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), (tokens) => {
        const created = attempt(tokens.join(''));
        if (created) assertStable(created);
      }),
      { seed: SEED, numRuns: 600 },
    );
  });

  it('random unicode kernel args: kept exactly, canonical stable', () => {
    const arg = fc.string({ unit: 'binary', maxLength: 30 });
    fc.assert(
      fc.property(fc.array(arg, { minLength: 1, maxLength: 5 }), (args) => {
        const input = JSON.stringify({ customization: { extraKernelArgs: args } });
        const created = attempt(input);
        if (!created) {
          // libyaml rejects raw DEL and C1 controls (JSON does not escape them) and lone surrogates.
          assert.ok(
            args.some((a) => /[\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]/u.test(a)),
            JSON.stringify(args),
          );
          return;
        }
        // Raw NEL/LS/PS are YAML 1.1 line breaks inside quoted scalars, so only those may change.
        if (!args.some((a) => /[\u0085\u2028\u2029]/.test(a))) {
          assert.deepEqual(created.schematic.customization.extraKernelArgs, args);
        }
        assertStable(created);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('random overlay option trees re-emit identically', () => {
    const scalar = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.boolean(),
      fc.constant(null),
    );
    const tree = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, scalar, tie('list'), tie('map')),
      list: fc.array(tie('value'), { maxLength: 4 }),
      map: fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 4 }),
    }));
    fc.assert(
      fc.property(tree.map, (options) => {
        const input = JSON.stringify({ overlay: { name: 'n', image: 'i', options } });
        const created = attempt(input);
        assert.ok(created, input);
        assertStable(created);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('schematic parser under hostile input', { timeout: 60_000 }, () => {
  const rejects = (input: string, pattern: RegExp): void => {
    assert.throws(
      () => parseSchematic(input),
      (e: unknown) => isFactoryError(e, 'SCHEMATIC_INVALID') && pattern.test(e.message),
    );
  };

  it('deep nesting (10^4 levels) is rejected, whatever the bracket kind', () => {
    rejects('['.repeat(10_000), /exceeded max depth/);
    rejects(`customization: ${'{a: '.repeat(10_000)}`, /exceeded max depth/);
    rejects(`${'- '.repeat(10_000)}x`, /exceeded max depth/);
    rejects(Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'), /exceeded max depth/);
    rejects(`overlay: {options: {a: ${'['.repeat(100)}${']'.repeat(100)}}}`, /exceeded max depth/);
  });

  it('alias bombs are rejected', () => {
    const bomb = (width: number, levels: number, indent: string, prefix: string): string => {
      let doc = `${prefix}${indent}a0: &a0 [${Array(width).fill('x').join(', ')}]\n`;
      for (let i = 1; i < levels; i++)
        doc += `${indent}a${i}: &a${i} [${Array(width)
          .fill(`*a${i - 1}`)
          .join(', ')}]\n`;
      return doc;
    };
    rejects(bomb(10, 12, '    ', 'overlay:\n  name: x\n  options:\n'), /excessive aliasing/);
    rejects(
      bomb(2, 60, '    ', 'overlay:\n  name: x\n  options:\n'),
      /excessive aliasing|exceeded max depth/,
    );
    rejects(bomb(10, 12, '', ''), /not found in type schematic\.Schematic/);
    // Aliases chained through nesting cannot build structures deeper than the cap.
    let deep = 'overlay:\n  name: x\n  options:\n    a0: &a0 [[[[[[[[[[x]]]]]]]]]]\n';
    for (let i = 1; i < 20; i++) deep += `    a${i}: &a${i} [[[[[[[[[[*a${i - 1}]]]]]]]]]]\n`;
    rejects(deep, /exceeded max depth/);
  });

  it('huge documents are handled', () => {
    const args = Array.from({ length: 100_000 }, (_, i) => `arg${i}=${'v'.repeat(20)}`);
    const created = attempt(
      `customization:\n  extraKernelArgs:\n${args.map((a) => `    - ${a}\n`).join('')}`,
    );
    assert.equal(created?.schematic.customization.extraKernelArgs?.length, 100_000);
    const config = `apiVersion: v1alpha1\n${'x'.repeat(1_000_000)}\n`;
    const big = attempt(JSON.stringify({ customization: { embeddedMachineConfiguration: config } }));
    assert.equal(big?.schematic.customization.embeddedMachineConfiguration, config);
    assert.equal(canonicalYaml(parseSchematic(big!.canonical)), big!.canonical);
    rejects(Array.from({ length: 20_000 }, (_, i) => `k${i}: 1`).join('\n'), /further errors not reported/);
    rejects(`overlay:\n  options:\n${'    k: 1\n'.repeat(20_000)}`, /already defined/);
  });
});
