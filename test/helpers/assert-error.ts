/** Assertion helper: a promise rejects with a FactoryError of `code` whose message names `fragments`. */
import assert from 'node:assert/strict';
import { isFactoryError } from '../../src/errors.js';

/** Asserts `promise` rejects with FactoryError `code` and a message containing every fragment. */
export async function expectCode(
  promise: Promise<unknown>,
  code: string,
  ...fragments: string[]
): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isFactoryError(e), `expected FactoryError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const f of fragments)
      assert.ok(e.message.includes(f), `message "${e.message}" should mention "${f}"`);
    return true;
  });
}
