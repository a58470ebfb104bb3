/**
 * Benchmark: build reuse (issue 13). For a zstd-era and an xz-era fixture release, each run starts
 * a factory with an empty cache and times three `AssetService.get` misses in a row:
 *
 * - cold: a schematic with three extensions (microcode, firmware, a kernel module);
 * - second: a new schematic (other kernel args) with the same extensions;
 * - third: a new schematic that adds a fourth extension;
 *
 * each against the bare tool pipeline (bench/lib/initramfs-reference.ts) doing the full work for
 * the same extensions, cache put included. Release inputs and extension blobs are fetched before
 * timing (both sides start from local files). Medians of BENCH_RUNS runs.
 *
 * Then a large extension (BENCH_LARGE_MB of incompressible firmware, default 256; BENCH_PARTS picks
 * `reuse` and/or `large`): a cold build
 * (bundle, squashfs, appendix, cache put) with the imager's appendix compression (zstd -18) and
 * with the factory's default, the process RSS during each, and a warm build (a new schematic
 * with the large extension cached).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CachedIntermediateStore } from '../src/assets/intermediate-store.js';
import {
  schematicExtensionManifestYaml,
  writeSchematicExtensionDir,
} from '../src/builders/extensions/schematic-extension.js';
import { detectFileKind } from '../src/builders/formats/magic.js';
import { buildInitramfs } from '../src/builders/initramfs/build.js';
import {
  DEFAULT_APPENDIX_COMPRESSION,
  IMAGER_APPENDIX_COMPRESSION,
  type AppendixCompression,
} from '../src/builders/initramfs/compression.js';
import { FsAssetCache } from '../src/cache/fs-cache.js';
import { externalUrlOf } from '../src/config/load.js';
import { deriveQuirks } from '../src/profile/quirks.js';
import { parseTalosVersion } from '../src/profile/version.js';
import type { LoadedSchematic } from '../src/storage/schematic-service.js';
import { fixtureReleases, makeFixtureFactory } from '../test/helpers/fixture-factory.js';
import { runReferenceInitramfs, type ReferenceInitramfsInput } from './lib/initramfs-reference.js';
import { envNumber, figure, median, timed } from './lib/report.js';
import { readRssKiB, sampleRss } from './lib/rss.js';

const RUNS = envNumber('BENCH_RUNS', 5);
const LARGE_MB = envNumber('BENCH_LARGE_MB', 256);
const VERSIONS = (process.env.BENCH_VERSIONS ?? 'v1.10.6,v1.5.5').split(',').map((s) => s.trim());
/** Which parts run: `reuse`, `large` (default both). */
const PARTS = new Set((process.env.BENCH_PARTS ?? 'reuse,large').split(',').map((s) => s.trim()));
const THREE = ['siderolabs/amd-ucode', 'siderolabs/realtek-firmware', 'siderolabs/vfat-module'];
const FOUR = [...THREE, 'siderolabs/intel-ucode'];
const REQUEST = { kind: 'initramfs', arch: 'amd64', platform: 'metal', secureBoot: false } as const;

await fixtureReleases();
let serial = 0;
const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(' ');

console.log(`reuse: ${RUNS} runs per figure (median), each on an empty cache, after one warm-up run`);
for (const version of PARTS.has('reuse') ? VERSIONS : []) {
  const quirks = deriveQuirks(parseTalosVersion(version));
  const era = `${version} (${quirks.useZstdCompression ? 'zstd' : 'xz'})`;
  const s = { cold: [] as number[], second: [] as number[], third: [] as number[] };
  const ref = { three: [] as number[], four: [] as number[] };
  for (let run = -1; run < RUNS; run++) {
    const { t } = await makeFixtureFactory();
    try {
      const f = t.factory;
      const virtual = { naming: f.config.build.schematicExtension, externalURL: externalUrlOf(f.config) };
      const inputs = await f.release.inputs(version, 'amd64');
      const images = new Map<string, string[]>();
      for (const e of await f.release.resolveExtensions(version, FOUR)) {
        const img = await f.release.pullImage(e.name, e.digest, 'amd64');
        images.set(
          e.name,
          img.layers.map((l) => l.path),
        );
      }
      const baseKind = await detectFileKind(inputs.initramfs);
      if (baseKind !== 'xz' && baseKind !== 'zstd')
        throw new Error(`${version}: base initramfs is ${baseKind}`);
      const schematic = (names: string[]): Promise<LoadedSchematic> =>
        f.schematics.create(
          `customization:\n  extraKernelArgs: [bench.run=${serial++}]\n  systemExtensions:\n    officialExtensions: [${names.join(', ')}]\n`,
        );
      const ours = async (names: string[], reuses: number): Promise<number> => {
        const loaded = await schematic(names);
        const before = f.runner.stats.builds;
        const reused = f.intermediates?.stats.reused ?? 0;
        const { ms } = await timed(() => f.assets.get(loaded, version, REQUEST));
        if (f.runner.stats.builds !== before + 1) throw new Error(`${version}: get did not build`);
        const got = (f.intermediates?.stats.reused ?? 0) - reused;
        if (got !== reuses) throw new Error(`${version}: ${got} intermediates reused, expected ${reuses}`);
        return ms;
      };
      const reference = async (names: string[]): Promise<number> => {
        const loaded = await schematic(names);
        const n = serial++;
        const input: ReferenceInitramfsInput = {
          workDir: join(t.dataDir, `ref-work-${n}`),
          baseInitramfs: inputs.initramfs,
          baseCompression: baseKind,
          extensions: names.map((name) => ({ layers: images.get(name) ?? [] })),
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
          cache: { dir: join(t.dataDir, 'ref-cache'), key: String(n).padStart(64, '0') },
        };
        return runReferenceInitramfs(input);
      };
      // Alternate which side goes first so drift (other load on the machine) favours neither.
      const refFirst = run % 2 === 0;
      const r3a = refFirst ? await reference(THREE) : undefined;
      // Reused: none; 3 bundles + modules.dep + microcode; 3 bundles + modules.dep.
      const cold = await ours(THREE, 0);
      const second = await ours(THREE, 5);
      const third = await ours(FOUR, 4);
      const r3 = r3a ?? (await reference(THREE));
      const r4 = await reference(FOUR);
      if (run >= 0) {
        s.cold.push(cold);
        s.second.push(second);
        s.third.push(third);
        ref.three.push(r3);
        ref.four.push(r4);
      }
    } finally {
      await t.cleanup();
    }
  }
  const r3 = median(ref.three);
  const r4 = median(ref.four);
  figure(`reuse ${era} cold, 3 extensions`, median(s.cold), r3, 'ms', { goal: { max: 1.1 } });
  figure(`reuse ${era} new schematic, same 3 extensions`, median(s.second), r3, 'ms', { goal: { max: 0.3 } });
  figure(`reuse ${era} new schematic, a 4th extension`, median(s.third), r4, 'ms', { goal: { max: 0.5 } });
  console.log(
    `reuse ${era} samples ms: cold [${fmt(s.cold)}] second [${fmt(s.second)}] third [${fmt(s.third)}] ref3 [${fmt(ref.three)}] ref4 [${fmt(ref.four)}]`,
  );
}

// A large extension: incompressible firmware, as in real firmware packs of already-packed blobs.
if (PARTS.has('large')) {
  const { t } = await makeFixtureFactory();
  try {
    const f = t.factory;
    const version = 'v1.10.6';
    const q = deriveQuirks(parseTalosVersion(version));
    const quirks = { zstd: q.useZstdCompression, usrLib: q.usrMerge };
    const inputs = await f.release.inputs(version, 'amd64');
    const big = join(t.dataDir, 'big-extension');
    const fw = join(big, 'rootfs', 'usr/lib/firmware/bench-big');
    await mkdir(fw, { recursive: true });
    await writeFile(
      join(big, 'manifest.yaml'),
      'version: v1alpha1\nmetadata:\n  name: bench-big\n  version: 1.0.0\n  author: bench\n  description: |\n    Incompressible firmware.\n  compatibility:\n    talos:\n      version: ">= v1.0.0"\n',
    );
    const chunk = 4 << 20;
    for (let i = 0; i < Math.ceil((LARGE_MB << 20) / chunk); i++)
      await writeFile(join(fw, `blob-${String(i).padStart(3, '0')}.bin`), randomBytes(chunk));
    await mkdir(join(big, 'rootfs/usr/local/bin'), { recursive: true });
    await writeFile(join(big, 'rootfs/usr/local/bin/tool'), '#!/bin/sh\n');
    const idle = await readRssKiB(process.pid);

    const largeBuild = async (
      compression: AppendixCompression,
      store: CachedIntermediateStore,
      cache: FsAssetCache,
    ): Promise<{ ms: number; peakMiB: number; size: number }> => {
      const loaded = await f.schematics.create(
        `customization:\n  extraKernelArgs: [bench.large=${serial++}]\n`,
      );
      const workDir = await mkdtemp(join(t.dataDir, 'large-'));
      const virtualDir = join(workDir, 'virtual');
      await writeSchematicExtensionDir(
        {
          id: loaded.id,
          externalURL: externalUrlOf(f.config),
          talosVersion: version,
          schematicYaml: loaded.canonical,
        },
        virtualDir,
      );
      const rss = sampleRss(process.pid, 50);
      const { ms, value } = await timed(async () => {
        const result = await buildInitramfs({
          baseInitramfs: inputs.initramfs,
          baseIdentity: `${inputs.imagerDigest}/${inputs.arch}`,
          extensions: [
            { name: 'bench/big', dir: big, identity: { bench: 'big', mb: LARGE_MB } },
            { name: 'schematic', dir: virtualDir },
          ],
          quirks,
          compression,
          workDir: join(workDir, 'build'),
          sourceDateEpoch: 0,
          store,
        });
        return (await cache.put(String(serial++).padStart(64, 'a'), result.path)).size;
      });
      const { peakKiB } = await rss.stop();
      await rm(workDir, { recursive: true, force: true });
      return { ms, peakMiB: peakKiB / 1024, size: value };
    };
    const runLarge = async (
      label: string,
      compression: AppendixCompression,
      warmToo: boolean,
    ): Promise<number> => {
      const cache = new FsAssetCache({
        dir: await mkdtemp(join(t.dataDir, 'large-cache-')),
        maxBytes: 8 << 30,
      });
      const store = new CachedIntermediateStore(cache, { stagingDir: join(t.dataDir, 'staging') });
      const cold = await largeBuild(compression, store, cache);
      let line =
        `large extension (${LARGE_MB} MiB incompressible firmware) ${label}: cold ${(cold.ms / 1000).toFixed(1)} s, ` +
        `${cold.size} bytes, peak RSS ${cold.peakMiB.toFixed(0)} MiB (idle ${(idle / 1024).toFixed(0)} MiB)`;
      if (warmToo) {
        await store.settled();
        const warm = await largeBuild(compression, store, cache);
        line += `; warm (new schematic, bundle reused) ${(warm.ms / 1000).toFixed(1)} s, peak RSS ${warm.peakMiB.toFixed(0)} MiB`;
      }
      console.log(line);
      await store.settled();
      return cold.ms;
    };
    const before = await runLarge(
      `zstd -${IMAGER_APPENDIX_COMPRESSION.zstdLevel} (imager)`,
      IMAGER_APPENDIX_COMPRESSION,
      false,
    );
    const after = await runLarge(
      `zstd -${DEFAULT_APPENDIX_COMPRESSION.zstdLevel} (default)`,
      DEFAULT_APPENDIX_COMPRESSION,
      true,
    );
    figure(`large extension cold build, default vs imager compression`, after, before, 'ms');
  } finally {
    await t.cleanup();
  }
}
