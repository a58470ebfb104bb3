/**
 * Benchmark: building an initramfs with three system extensions (early microcode, firmware, a
 * kernel module → also the modules.dep layer) for a zstd-era and an xz-era fixture release, against
 * the same steps as one bare bash script of standard tools (bench/lib/initramfs-reference.ts), run
 * interleaved in this process. Two figures per version, medians of BENCH_RUNS runs:
 *
 * - build: `buildInitramfsAsset` (what the build runner calls) into a fresh work dir, removed after;
 * - cold get: `AssetService.get` on a cache miss (key, single-flight, work dir, build, cache put
 *   with sha256 + sha512), against the script plus the same cache steps.
 *
 * Release inputs and extension blobs are fetched before timing (both sides start from local
 * files); each run uses a new schematic (a different kernel argument), so every get is a miss.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildInitramfsAsset } from '../src/assets/kinds/initramfs.js';
import { schematicExtensionManifestYaml } from '../src/builders/extensions/schematic-extension.js';
import { detectFileKind } from '../src/builders/formats/magic.js';
import { externalUrlOf } from '../src/config/load.js';
import { deriveQuirks } from '../src/profile/quirks.js';
import { parseTalosVersion } from '../src/profile/version.js';
import type { PulledImage } from '../src/release/release-source.js';
import type { LoadedSchematic } from '../src/storage/schematic-service.js';
import { fixtureReleases, makeFixtureFactory } from '../test/helpers/fixture-factory.js';
import { runReferenceInitramfs, type ReferenceInitramfsInput } from './lib/initramfs-reference.js';
import { envNumber, figure, median, timed } from './lib/report.js';
import { bashSpawnMs, nodeSpawnMs } from './lib/spawn-cost.js';

const RUNS = envNumber('BENCH_RUNS', 7);
const EXTENSIONS = (
  process.env.BENCH_EXTENSIONS ?? 'siderolabs/amd-ucode,siderolabs/realtek-firmware,siderolabs/vfat-module'
)
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '');
const VERSIONS = (process.env.BENCH_VERSIONS ?? 'v1.10.6,v1.5.5').split(',').map((s) => s.trim());

const fxStart = performance.now();
await fixtureReleases();
console.log(`fixtures ready in ${((performance.now() - fxStart) / 1000).toFixed(1)} s (not measured)`);

// No build reuse: every figure here is a cold build (bench/reuse.bench.ts measures reuse).
const { t } = await makeFixtureFactory({ build: { reuseIntermediates: false } });
const f = t.factory;
const virtual = { naming: f.config.build.schematicExtension, externalURL: externalUrlOf(f.config) };
let serial = 0;

/** A schematic no run has used yet: the cache key differs, the build work does not. */
async function freshSchematic(): Promise<LoadedSchematic> {
  const body = `customization:\n  extraKernelArgs: [bench.run=${serial++}]\n  systemExtensions:\n    officialExtensions: [${EXTENSIONS.join(', ')}]\n`;
  return f.schematics.create(body);
}

try {
  console.log(
    `initramfs: extensions ${EXTENSIONS.join(', ')}; ${RUNS} runs per figure (median), after one warm-up run each`,
  );
  for (const version of VERSIONS) {
    const quirks = deriveQuirks(parseTalosVersion(version));
    const inputs = await f.release.inputs(version, 'amd64');
    const entries = await f.release.resolveExtensions(version, EXTENSIONS);
    const extensions = entries.map((e) => ({ name: e.name, digest: e.digest }));
    const images: PulledImage[] = [];
    for (const e of extensions) images.push(await f.release.pullImage(e.name, e.digest, 'amd64'));
    const baseKind = await detectFileKind(inputs.initramfs);
    if (baseKind !== 'xz' && baseKind !== 'zstd')
      throw new Error(`${version}: base initramfs is ${baseKind}, expected xz or zstd`);

    const referenceInput = (loaded: LoadedSchematic, cached: boolean): ReferenceInitramfsInput => {
      const n = serial++;
      return {
        workDir: join(t.dataDir, `ref-work-${n}`),
        baseInitramfs: inputs.initramfs,
        baseCompression: baseKind,
        extensions: images.map((img) => ({ layers: img.layers.map((l) => l.path) })),
        schematic: {
          id: loaded.id,
          manifestYaml: schematicExtensionManifestYaml({
            id: loaded.id,
            naming: virtual.naming,
            externalURL: virtual.externalURL,
            talosVersion: version,
            schematicYaml: loaded.canonical,
          }),
        },
        zstd: quirks.useZstdCompression,
        usrLib: quirks.usrMerge,
        output: join(t.dataDir, `ref-out-${n}`),
        ...(cached ? { cache: { dir: join(t.dataDir, 'ref-cache'), key: String(n).padStart(64, '0') } } : {}),
      };
    };

    const oursBuild = async (): Promise<{ ms: number; size: number }> => {
      const loaded = await freshSchematic();
      const workDir = await mkdtemp(join(t.dataDir, 'bench-build-'));
      const { ms, value } = await timed(async () => {
        const out = await buildInitramfsAsset({
          release: f.release,
          inputs,
          version,
          quirks,
          extensions,
          schematic: loaded,
          virtual,
          workDir,
          signal: new AbortController().signal,
        });
        const size = (await stat(out)).size;
        await rm(workDir, { recursive: true, force: true });
        return size;
      });
      return { ms, size: value };
    };
    const oursGet = async (): Promise<number> => {
      const loaded = await freshSchematic();
      const before = f.runner.stats.builds;
      const { ms } = await timed(() =>
        f.assets.get(loaded, version, {
          kind: 'initramfs',
          arch: 'amd64',
          platform: 'metal',
          secureBoot: false,
        }),
      );
      if (f.runner.stats.builds !== before + 1)
        throw new Error(`${version}: AssetService.get did not build (cache hit?)`);
      return ms;
    };
    const refBuild = async (): Promise<{ ms: number; size: number }> => {
      const input = referenceInput(await freshSchematic(), false);
      const ms = await runReferenceInitramfs(input);
      const size = (await stat(input.output)).size;
      await rm(input.output, { force: true });
      return { ms, size };
    };
    const refGet = async (): Promise<number> =>
      runReferenceInitramfs(referenceInput(await freshSchematic(), true));

    // Warm-up: page cache, tool binaries, JIT.
    const first = await oursBuild();
    const firstRef = await refBuild();
    await oursGet();
    await refGet();

    const samples = {
      oursBuild: [] as number[],
      refBuild: [] as number[],
      oursGet: [] as number[],
      refGet: [] as number[],
    };
    for (let i = 0; i < RUNS; i++) {
      // Alternate which side goes first so drift (other load, thermal) does not favour one.
      if (i % 2 === 0) {
        samples.oursBuild.push((await oursBuild()).ms);
        samples.refBuild.push((await refBuild()).ms);
        samples.oursGet.push(await oursGet());
        samples.refGet.push(await refGet());
      } else {
        samples.refBuild.push((await refBuild()).ms);
        samples.oursBuild.push((await oursBuild()).ms);
        samples.refGet.push(await refGet());
        samples.oursGet.push(await oursGet());
      }
    }
    const era = `${version} (${quirks.useZstdCompression ? 'zstd' : 'xz'})`;
    console.log(
      `initramfs ${era} output size: ours ${first.size} bytes, reference ${firstRef.size} bytes (base ${(await stat(inputs.initramfs)).size} bytes)`,
    );
    figure(
      `initramfs ${era} build (buildInitramfsAsset)`,
      median(samples.oursBuild),
      median(samples.refBuild),
      'ms',
      { goal: { max: 1.1 } },
    );
    figure(
      `initramfs ${era} cold get (AssetService.get + cache put)`,
      median(samples.oursGet),
      median(samples.refGet),
      'ms',
      { goal: { max: 1.1 } },
    );
    const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(' ');
    console.log(
      `initramfs ${era} samples ms: build ours [${fmt(samples.oursBuild)}] ref [${fmt(samples.refBuild)}]; get ours [${fmt(samples.oursGet)}] ref [${fmt(samples.refGet)}]`,
    );
  }
  // Why a gap remains: each tool the build runs starts from this (large) process.
  figure(
    'initramfs tool process start (node spawn in the factory process vs bash fork+exec)',
    await nodeSpawnMs(),
    bashSpawnMs(),
    'ms',
    { digits: 2 },
  );
} finally {
  await t.cleanup();
}
