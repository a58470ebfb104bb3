/**
 * Reproducibility across processes: two separate Node processes build the same metal image and
 * its qcow2, .xz, .gz and .zst forms; every sha256 must match.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fixtureReleases } from '../helpers/fixture-factory.js';
import type { FixtureManifest } from '../fixtures/manifest.js';

const exec = promisify(execFile);
let fx: FixtureManifest;
let scratch: string;

before(async () => {
  fx = await fixtureReleases();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'disk-repro-'));
});
after(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

test(
  'two processes build byte-identical raw, qcow2, raw.xz, raw.gz and raw.zst',
  { timeout: 900_000 },
  async () => {
    const v = fx.versions.find((x) => x.spec.tag === 'v1.8.3')!;
    const a = v.artifacts.amd64!;
    const here = fileURLToPath(import.meta.url);
    const child = path.join(path.dirname(here), '..', 'helpers', `disk-build-child${path.extname(here)}`);
    const run = async (name: string): Promise<Record<string, string>> => {
      const dir = path.join(scratch, name);
      await mkdir(dir);
      const { stdout } = await exec(
        process.execPath,
        [...process.execArgv, child, path.join(fx.root, a.vmlinuz), path.join(fx.root, a.initramfs), dir],
        { maxBuffer: 1 << 20 },
      );
      await rm(dir, { recursive: true, force: true });
      return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, string>;
    };
    const first = await run('a');
    const second = await run('b');
    assert.deepEqual(Object.keys(first).sort(), ['qcow2', 'raw', 'raw.gz', 'raw.xz', 'raw.zst']);
    assert.deepEqual(second, first);
  },
);
