/** Small pure pieces of issue 11's hardening: extension-list rules, path scrubbing, the parse pool. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkExtensionList } from '../../src/assets/extension-list.js';
import { isFactoryError } from '../../src/errors.js';
import { SchematicParsePool } from '../../src/schematic/parse-pool.js';
import { scrubPaths } from '../../src/util/scrub-paths.js';

describe('checkExtensionList', () => {
  it('passes distinct names up to the cap', () => {
    assert.deepEqual(checkExtensionList(['a', 'b'], 2), ['a', 'b']);
    assert.deepEqual(checkExtensionList([], 1), []);
  });
  it('names the first repeated extension, then the cap', () => {
    assert.throws(
      () => checkExtensionList(['a', 'b', 'a', 'b'], 1),
      (e: unknown) =>
        isFactoryError(e, 'EXTENSION_INVALID') && /"a" is listed more than once/.test(e.message),
    );
    assert.throws(
      () => checkExtensionList(['a', 'b', 'c'], 2),
      (e: unknown) =>
        isFactoryError(e, 'EXTENSION_INVALID') && /3 extensions requested, at most 2/.test(e.message),
    );
  });
});

describe('scrubPaths', () => {
  it('replaces roots by labels, longest first, only as path prefixes', () => {
    const text =
      'mksquashfs: Cannot stat /srv/data/work/1-x.2/build-AbC/stage/ext0: No such file; /srv/database ok';
    assert.equal(
      scrubPaths(text, [
        { dir: '/srv/data', label: '<data>' },
        { dir: '/srv/data/work/1-x.2/build-AbC', label: '<build>' },
      ]),
      'mksquashfs: Cannot stat <build>/stage/ext0: No such file; /srv/database ok',
    );
  });
});

describe('SchematicParsePool', () => {
  it('parses in workers and keeps go-yaml errors', async () => {
    const pool = new SchematicParsePool({ workers: 1, maxQueue: 4, timeoutMs: 5000 });
    try {
      const c = await pool.create(Buffer.from('customization: {extraKernelArgs: [a]}'));
      assert.equal(c.canonical, 'customization:\n    extraKernelArgs:\n        - a\n');
      assert.ok(Object.isFrozen(c.schematic.customization));
      await assert.rejects(pool.create(Buffer.from('nope: 1')), (e: unknown) =>
        isFactoryError(e, 'SCHEMATIC_INVALID'),
      );
      assert.deepEqual(await pool.parse('customization: {}\n'), { customization: {} });
    } finally {
      await pool.close();
    }
  });

  it('cuts a parse off at its deadline (400) and refuses beyond the queue (503), then recovers', async () => {
    const pool = new SchematicParsePool({ workers: 1, maxQueue: 1, timeoutMs: 500 });
    try {
      await pool.create(Buffer.from('{}')); // a started worker: the deadline then measures parsing
      const slow = Buffer.from(`customization: {extraKernelArgs: [${'a,'.repeat(1_500_000)}]}`);
      const results = await Promise.allSettled([pool.create(slow), pool.create(slow), pool.create(slow)]);
      const codes = results.map((r) =>
        r.status === 'rejected' && isFactoryError(r.reason) ? r.reason.code : 'ok',
      );
      assert.equal(codes[0], 'SCHEMATIC_INVALID');
      assert.ok(
        codes.slice(1).every((c) => c === 'BUSY'),
        codes.join(','),
      );
      const ok = await pool.create(Buffer.from('{}'));
      assert.equal(ok.canonical, 'customization: {}\n');
    } finally {
      await pool.close();
    }
  });
});
