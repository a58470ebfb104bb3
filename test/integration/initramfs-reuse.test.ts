/**
 * Build reuse over the fixture releases: an initramfs built from cached intermediates (extension
 * bundles, the modules.dep layer, the early-microcode archive) is byte-identical to one built with
 * nothing cached, for xz-era and zstd-era releases; a new schematic with the same extensions
 * reuses every bundle, one more extension adds exactly its own; the build status names what was
 * reused; a corrupted cached intermediate is rebuilt, never used.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CachedIntermediateStore } from '../../src/assets/intermediate-store.js';
import { buildInitramfsAsset, type ResolvedExtension } from '../../src/assets/kinds/initramfs.js';
import { NO_INTERMEDIATE_STORE, type IntermediateStore } from '../../src/builders/initramfs/intermediates.js';
import { FsAssetCache } from '../../src/cache/fs-cache.js';
import { externalUrlOf } from '../../src/config/load.js';
import { deriveQuirks } from '../../src/profile/quirks.js';
import { parseTalosVersion } from '../../src/profile/version.js';
import type { LoadedSchematic } from '../../src/storage/schematic-service.js';
import { attachBuildProgress } from '../../src/util/build-progress.js';
import type { TestFactory } from '../helpers/factory.js';
import { makeFixtureFactory } from '../helpers/fixture-factory.js';

const THREE = ['siderolabs/amd-ucode', 'siderolabs/realtek-firmware', 'siderolabs/vfat-module'];
const FOURTH = 'siderolabs/intel-ucode';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('initramfs build reuse', { timeout: 300_000 }, () => {
  let t: TestFactory;
  let scratch: string;
  before(async () => {
    ({ t } = await makeFixtureFactory());
    scratch = await mkdtemp(join(t.dataDir, 'reuse-'));
  });
  after(() => t?.cleanup());

  let serial = 0;
  const schematic = (names: string[]): Promise<LoadedSchematic> =>
    t.factory.schematics.create(
      `customization:\n  extraKernelArgs: [reuse.test=${serial++}]\n  systemExtensions:\n    officialExtensions: [${names.join(', ')}]\n`,
    );

  /** Builds with `store` (or nothing cached); returns the sha256 and the reused intermediates. */
  async function build(
    version: string,
    loaded: LoadedSchematic,
    names: string[],
    store: IntermediateStore | undefined,
  ): Promise<{ sha256: string; reused: string[]; steps: string[] }> {
    const f = t.factory;
    const entries = await f.release.resolveExtensions(version, names);
    const extensions: ResolvedExtension[] = entries.map((e) => ({ name: e.name, digest: e.digest }));
    const workDir = await mkdtemp(join(scratch, 'build-'));
    const reused: string[] = [];
    const steps: string[] = [];
    try {
      const signal = new AbortController().signal;
      attachBuildProgress(
        signal,
        (s) => steps.push(s),
        (what) => reused.push(what),
      );
      const out = await buildInitramfsAsset({
        release: f.release,
        inputs: await f.release.inputs(version, 'amd64'),
        version,
        quirks: deriveQuirks(parseTalosVersion(version)),
        extensions,
        schematic: loaded,
        virtual: { naming: 'schematic', externalURL: externalUrlOf(f.config) },
        ...(store ? { store } : {}),
        workDir,
        signal,
      });
      return { sha256: sha256(await readFile(out)), reused, steps };
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  for (const version of ['v1.5.5', 'v1.8.3', 'v1.10.6']) {
    it(`${version}: builds from cached intermediates are byte-identical to cold builds`, async () => {
      const cacheDir = await mkdtemp(join(scratch, 'cache-'));
      const cache = new FsAssetCache({ dir: cacheDir, maxBytes: 1 << 30 });
      const store = new CachedIntermediateStore(cache, { stagingDir: join(scratch, 'staging') });

      // Cold: everything built (and kept), same bytes as with nothing kept at all.
      const s1 = await schematic(THREE);
      const cold = await build(version, s1, THREE, store);
      assert.deepEqual(cold.reused, []);
      assert.equal(
        cold.sha256,
        (await build(version, s1, THREE, undefined)).sha256,
        'cold with store = no store',
      );

      // A new schematic, same extensions: every extension bundle, modules.dep and microcode reused.
      const s2 = await schematic(THREE);
      const second = await build(version, s2, THREE, store);
      assert.deepEqual(
        second.reused.sort(),
        ['early microcode', 'modules.dep', ...THREE.map((n) => `squashfs ${n}`)].sort(),
      );
      assert.ok(second.steps.includes('reuse squashfs siderolabs/vfat-module'), second.steps.join('\n'));
      assert.ok(!second.steps.some((s) => s.includes('modules.dep: depmod')), 'no depmod on reuse');
      assert.equal(second.sha256, (await build(version, s2, THREE, undefined)).sha256, 'reused = cold');

      // modules.dep rebuilt while the module extension's bundle is reused: its tree comes from the
      // cached squashfs layer instead of the unpacked image, with the same result.
      const noModulesDep: IntermediateStore = {
        obtain: (spec, dest, make, signal) =>
          spec?.type === 'modules-dep'
            ? NO_INTERMEDIATE_STORE.obtain(spec, dest, make)
            : store.obtain(spec, dest, make, signal),
      };
      const fromLayer = await build(version, s2, THREE, noModulesDep);
      assert.ok(fromLayer.reused.includes('squashfs siderolabs/vfat-module'));
      assert.ok(
        fromLayer.steps.includes('initramfs: modules.dep: unsquashfs extension layer'),
        fromLayer.steps.join('\n'),
      );
      assert.equal(fromLayer.sha256, second.sha256, 'modules.dep from the cached layer = from the image');

      // One more extension (microcode at a new index): only its bundle and the microcode archive are new.
      const four = [...THREE.slice(0, 1), FOURTH, ...THREE.slice(1)];
      const s3 = await schematic(four);
      const third = await build(version, s3, four, store);
      assert.deepEqual(third.reused.sort(), ['modules.dep', ...THREE.map((n) => `squashfs ${n}`)].sort());
      assert.equal(
        third.sha256,
        (await build(version, s3, four, undefined)).sha256,
        'reused at other indexes = cold',
      );

      // The same schematic again: its own virtual extension is reused too.
      const again = await build(version, s3, four, store);
      assert.equal(again.sha256, third.sha256);
      assert.ok(again.reused.includes('squashfs schematic'), again.reused.join(', '));

      // Corrupt every cached intermediate on disk: each is rebuilt, the asset is still right.
      await store.settled();
      const blobs = join(cacheDir, 'blobs');
      for (const name of await readdir(blobs)) {
        const fh = await open(join(blobs, name), 'r+');
        await fh.write(Buffer.from([0x42]), 0, 1, 200);
        await fh.close();
      }
      const corruptBefore = store.stats.corrupt;
      const rebuilt = await build(version, s2, THREE, store);
      assert.equal(rebuilt.sha256, second.sha256, 'rebuilt from scratch after corruption');
      // Caught either by the store's own verification of what it copies out, or already by the
      // asset cache, which re-hashes a blob whose file identity changed: either way nothing is reused.
      assert.ok(
        store.stats.corrupt - corruptBefore >= 5 || rebuilt.reused.length === 0,
        `corrupt copies seen: ${store.stats.corrupt - corruptBefore}; reused: ${rebuilt.reused.join(', ')}`,
      );
      assert.deepEqual(rebuilt.reused, [], 'nothing corrupt was used');
      // …and what was rebuilt is kept again.
      assert.equal((await build(version, s2, THREE, store)).reused.length, 6);
      await rm(cacheDir, { recursive: true, force: true });
    });
  }

  it('concurrent builds sharing extensions build each bundle once', async () => {
    const cache = new FsAssetCache({ dir: await mkdtemp(join(scratch, 'cache-')), maxBytes: 1 << 30 });
    const store = new CachedIntermediateStore(cache, { stagingDir: join(scratch, 'staging') });
    const [a, b] = await Promise.all([schematic(THREE), schematic(THREE)]);
    const [ra, rb] = await Promise.all([
      build('v1.10.6', a, THREE, store),
      build('v1.10.6', b, THREE, store),
    ]);
    await store.settled();
    // Two virtual extensions are new; of the three bundles, modules.dep and microcode, each once.
    assert.equal(store.stats.built, 2 + 5, JSON.stringify(store.stats));
    assert.equal(ra.reused.length + rb.reused.length, 5);
  });
});
