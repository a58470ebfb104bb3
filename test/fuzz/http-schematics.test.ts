/**
 * Bad input never hurts: mutated vectors, random bytes, huge and deeply nested documents thrown at
 * POST /schematics and POST /flavor. Every answer is a 201 or a 4xx with a message; never a 5xx,
 * a crash or a hang (the runner's timeout bounds the whole file).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { makeTestFactory, type TestFactory } from '../helpers/factory.js';
import { schematicVectors } from '../helpers/vectors.js';

describe('POST /schematics and /flavor under hostile input', { timeout: 120_000 }, () => {
  let t: TestFactory;
  before(async () => {
    t = await makeTestFactory({ http: { bodyLimit: 256 * 1024 } });
  });
  after(() => t.cleanup());

  const check = async (payload: string | Buffer) => {
    for (const url of ['/schematics', '/flavor']) {
      const res = await t.factory.app.inject({
        method: 'POST',
        url,
        payload,
        headers: { 'content-type': 'application/yaml' },
      });
      assert.ok(
        res.statusCode === 201 || (res.statusCode >= 400 && res.statusCode < 500),
        `${url} → ${res.statusCode}: ${res.body}`,
      );
      if (res.statusCode !== 201) assert.ok(res.body.trim().length > 0, 'a rejection carries a message');
    }
  };

  const inputs = schematicVectors().map((v) => v.input);

  it('mutated vector inputs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...inputs),
        fc.nat(),
        fc.string({ maxLength: 8 }),
        fc.nat(),
        async (input, pos, insert, cut) => {
          const p = input.length ? pos % input.length : 0;
          await check(input.slice(0, p) + insert + input.slice(p + (cut % 4)));
        },
      ),
      { numRuns: 400, seed: 424242 },
    );
  });

  it('random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => check(Buffer.from(bytes))),
      { numRuns: 200, seed: 7 },
    );
  });

  it('deeply nested and huge documents', async () => {
    await check('['.repeat(100_000));
    await check('{a: '.repeat(20_000) + '1' + '}'.repeat(20_000));
    await check(`customization:\n  extraKernelArgs:\n${'    - x\n'.repeat(30_000)}`);
    await check(
      `overlay:\n  name: x\n  image: y\n  options:\n${'    '.repeat(1)}${Array.from({ length: 5000 }, (_, i) => `k${i}: v`).join('\n    ')}\n`,
    );
    // An alias bomb: each level doubles the previous one.
    const bomb = [
      'a0: &a0 [x, x]',
      ...Array.from({ length: 30 }, (_, i) => `a${i + 1}: &a${i + 1} [*a${i}, *a${i}]`),
    ].join('\n');
    await check(`overlay:\n  name: x\n  image: y\n  options:\n    ${bomb.replace(/\n/g, '\n    ')}\n`);
    await check('x'.repeat(300 * 1024)); // over the body limit → 413
  });
});
