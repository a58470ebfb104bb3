/**
 * AssetService orchestration with kinds of the test's own: dependencies are planned into the
 * parent's key and built once, before (never inside) the parent's build slot; status reports
 * queued/building/failed with the step the build announced.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AssetKindModule } from '../../src/assets/asset-kind.js';
import { AssetService } from '../../src/assets/asset-service.js';
import { BuildRunner } from '../../src/assets/build-runner.js';
import { FsAssetCache } from '../../src/cache/fs-cache.js';
import { FactoryError } from '../../src/errors.js';
import type { AssetRequest } from '../../src/profile/asset-request.js';
import { LayoutImageSource } from '../../src/release/layout-source.js';
import { ReleaseSource } from '../../src/release/release-source.js';
import { createSchematic } from '../../src/schematic/index.js';
import type { LoadedSchematic } from '../../src/storage/schematic-service.js';
import { reportBuildStep } from '../../src/util/build-progress.js';

const req = (kind: AssetRequest['kind']): AssetRequest =>
  kind === 'image'
    ? {
        kind,
        arch: 'amd64',
        platform: 'metal',
        secureBoot: false,
        image: { diskFormat: 'raw', formatOptions: '', compression: 'none', diskSizeMiB: 1 },
      }
    : { kind, arch: 'amd64', platform: 'metal', secureBoot: false };

describe('AssetService with dependent kinds', () => {
  let dir: string;
  let schematic: LoadedSchematic;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'if-assets-'));
    schematic = createSchematic('customization: {}\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A service whose `initramfs` kind writes `child-<salt>` and whose `iso` kind wraps it. */
  function service(opts: { childSalt?: string; maxConcurrency?: number; childDelayMs?: number } = {}) {
    const counts = { child: 0, parent: 0 };
    const child: AssetKindModule = {
      kind: 'initramfs',
      salt: opts.childSalt ?? 'c1',
      plan: () =>
        Promise.resolve({
          key: { what: 'child' },
          async build(b) {
            counts.child++;
            reportBuildStep('child: step one', b.signal);
            await sleep(opts.childDelayMs ?? 0);
            const f = join(b.workDir, 'child');
            await writeFile(f, `child-${opts.childSalt ?? 'c1'}`);
            return f;
          },
        }),
    };
    const parent: AssetKindModule = {
      kind: 'iso',
      salt: 'p1',
      plan: () =>
        Promise.resolve({
          key: { what: 'parent' },
          deps: { inner: req('initramfs') },
          async build(b) {
            counts.parent++;
            const inner = b.deps['inner'];
            assert.ok(inner);
            const chunks: Buffer[] = [];
            for await (const c of await inner.open()) chunks.push(c as Buffer);
            const f = join(b.workDir, 'parent');
            await writeFile(f, `parent(${Buffer.concat(chunks).toString()})`);
            return f;
          },
        }),
    };
    const cacheDir = join(dir, `cache-${Math.random().toString(36).slice(2)}`);
    const runner = new BuildRunner({
      cache: new FsAssetCache({ dir: cacheDir, maxBytes: 1 << 30 }),
      maxConcurrency: opts.maxConcurrency ?? 2,
      timeoutMs: 10_000,
      workRoot: dir,
    });
    const release = new ReleaseSource({
      images: new LayoutImageSource(join(dir, 'no-layouts')),
      components: {
        imager: 'imager',
        installer: 'installer',
        installerBase: 'installer-base',
        extensionManifest: 'extensions',
        overlayManifest: 'overlays',
      },
      namespace: '',
      registry: 'example.invalid',
      policy: { minVersion: '1.2.0', broken: [] },
      recheckMs: 60_000,
      cacheDir: join(dir, 'release'),
    });
    const assets = new AssetService({
      release,
      runner,
      schematicExtension: { naming: 'schematic', externalURL: 'http://x/' },
      kinds: { initramfs: child, iso: parent },
    });
    return { assets, runner, counts };
  }

  it('builds the dependency first, once, and the parent from its bytes', async () => {
    const { assets, counts } = service();
    const [a, b] = await Promise.all([
      assets.get(schematic, 'v1.10.0', req('iso')),
      assets.get(schematic, 'v1.10.0', req('iso')),
    ]);
    assert.equal(a.sha256, b.sha256);
    assert.deepEqual(counts, { child: 1, parent: 1 });
    const chunks: Buffer[] = [];
    for await (const c of await a.open()) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'parent(child-c1)');
    // The child is an asset of its own: a hit now.
    await assets.get(schematic, 'v1.10.0', req('initramfs'));
    assert.equal(counts.child, 1);
  });

  it("puts the dependency's key into the parent's key", async () => {
    const one = await service({ childSalt: 'c1' }).assets.plan(schematic, 'v1.10.0', req('iso'));
    const two = await service({ childSalt: 'c2' }).assets.plan(schematic, 'v1.10.0', req('iso'));
    assert.notEqual(one.key, two.key);
    assert.equal(one.deps['inner']?.request.kind, 'initramfs');
  });

  it('never holds a build slot while a dependency waits for one (no deadlock at concurrency 1)', async () => {
    const { assets, counts } = service({ maxConcurrency: 1, childDelayMs: 20 });
    await Promise.all(Array.from({ length: 3 }, () => assets.get(schematic, 'v1.10.0', req('iso'))));
    assert.deepEqual(counts, { child: 1, parent: 1 });
  });

  it('answers 501 for a kind without a module', async () => {
    const { assets } = service();
    await assert.rejects(assets.get(schematic, 'v1.10.0', req('uki')), (e: unknown) => {
      assert.ok(e instanceof FactoryError);
      assert.equal(e.code, 'NOT_IMPLEMENTED');
      return true;
    });
    assert.deepEqual([...assets.implementedKinds()].sort(), ['initramfs', 'iso']);
  });

  it('reports building with the announced step, then forgets it once cached', async () => {
    const { assets, runner } = service({ childDelayMs: 200 });
    const planned = await assets.plan(schematic, 'v1.10.0', req('initramfs'));
    const done = assets.realize(planned);
    await sleep(100);
    const s = runner.status(planned.key);
    assert.equal(s?.state, 'building');
    assert.equal(s.state === 'building' ? s.step : undefined, 'child: step one');
    await done;
    assert.equal(runner.status(planned.key), undefined);
    assert.ok(await runner.lookup(planned.key));
  });
});

describe('BuildRunner status', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'if-status-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reports queue positions in grant order and remembers failures', async () => {
    const runner = new BuildRunner({
      cache: new FsAssetCache({ dir: join(dir, 'cache'), maxBytes: 1 << 30 }),
      maxConcurrency: 1,
      timeoutMs: 10_000,
      workRoot: dir,
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const build =
      (name: string, fail = false) =>
      async (work: string) => {
        await gate;
        if (fail) throw new FactoryError('BUILD_FAILED', `${name}: boom`);
        const f = join(work, name);
        await writeFile(f, name);
        return f;
      };
    const a = runner.get('a'.repeat(64), build('a'), undefined, { kind: 'iso' });
    const b = runner.get('b'.repeat(64), build('b', true), undefined, { kind: 'uki' });
    const c = runner.get('c'.repeat(64), build('c'), undefined, { kind: 'image' });
    await sleep(20);
    assert.equal(runner.status('a'.repeat(64))?.state, 'building');
    assert.deepEqual(runner.status('b'.repeat(64)), { state: 'queued', position: 1, kind: 'uki' });
    assert.deepEqual(runner.status('c'.repeat(64)), { state: 'queued', position: 2, kind: 'image' });
    release();
    await a;
    await assert.rejects(b);
    await c;
    const failed = runner.status('b'.repeat(64));
    assert.equal(failed?.state, 'failed');
    assert.equal(failed.state === 'failed' ? failed.message : '', 'b: boom');
  });
});
