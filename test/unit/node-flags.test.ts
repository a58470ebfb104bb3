/**
 * The node flags `serve` wants (runtime.semiSpaceMiB), the warning when a process runs without
 * them, `image-factory node-flags` as scripts/start.sh calls it, and that the flags really pin
 * V8's young generation in a child node.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { missingNodeFlags, nodeFlagsFor } from '../../src/cli/node-flags.js';
import { validateConfig } from '../../src/config/load.js';
import { runCli } from '../helpers/cli.js';

const exec = promisify(execFile);

describe('node flags (runtime.semiSpaceMiB)', () => {
  it('defaults to 16 MiB semi-spaces, pinned (min = max); 0 gives no flags', () => {
    assert.deepEqual(nodeFlagsFor(validateConfig({})), [
      '--min-semi-space-size=16',
      '--max-semi-space-size=16',
    ]);
    assert.deepEqual(nodeFlagsFor(validateConfig({ runtime: { semiSpaceMiB: 0 } })), []);
    assert.throws(() => validateConfig({ runtime: { semiSpaceMiB: -1 } }), /runtime\.semiSpaceMiB/);
    assert.throws(() => validateConfig({ runtime: { semiSpace: 16 } }), /runtime/);
  });

  it('names what is missing and how to start it; silent when the flags are there', () => {
    const config = validateConfig({ runtime: { semiSpaceMiB: 8 } });
    const warning = missingNodeFlags(config, ['--max-semi-space-size=8']);
    assert.match(warning ?? '', /runtime\.semiSpaceMiB is 8/);
    assert.match(warning ?? '', /without --min-semi-space-size=8:/);
    assert.match(warning ?? '', /image-factory node-flags/);
    assert.equal(missingNodeFlags(config, ['--min-semi-space-size=8', '--max-semi-space-size=8']), undefined);
    assert.equal(missingNodeFlags(validateConfig({ runtime: { semiSpaceMiB: 0 } }), []), undefined);
  });

  it('`image-factory node-flags` prints them, honouring config overrides', async () => {
    const plain = await runCli(['node-flags']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, '--min-semi-space-size=16 --max-semi-space-size=16\n');
    const off = await runCli(['node-flags'], { IMAGE_FACTORY__runtime__semiSpaceMiB: '0' });
    assert.equal(off.stdout, '\n');
    const bad = await runCli(['node-flags'], { IMAGE_FACTORY__runtime__semiSpaceMiB: 'lots' });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /runtime\.semiSpaceMiB/);
  });

  it('the flags pin the young generation of a real node from the start', async () => {
    const newSpace = async (flags: readonly string[]): Promise<number> => {
      const script =
        "const s = require('v8').getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');" +
        'process.stdout.write(String(s.space_size / 1048576));';
      const { stdout } = await exec(process.execPath, [...flags, '-e', script]);
      return Number(stdout);
    };
    // Without them V8 starts small and grows with the allocation rate; with them it starts at size.
    assert.ok((await newSpace([])) < 16);
    assert.equal(await newSpace(nodeFlagsFor(validateConfig({}))), 16);
  });
});
