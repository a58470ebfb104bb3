/**
 * Benchmark: pulling an installer image with skopeo (`skopeo copy docker://… oci:…`, one arch)
 * from the factory's registry frontend — the first pull (which builds kernel, initramfs and
 * installer for both arches, then stores and signs the index) and warm pulls — against pulling
 * the very same image (copied over with its digests) from docker-registry (distribution 2.8).
 * The factory runs as its own process over the fixture releases, with a schematic of three
 * extensions. Wall time of the whole skopeo process, median of BENCH_ROUNDS (5) warm rounds,
 * alternating which server goes first.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fixtureReleases } from '../test/helpers/fixture-factory.js';
import { startRegistry } from '../test/helpers/registry.js';
import { startFactoryProcess } from './lib/factory-process.js';
import { envNumber, figure, median, timed } from './lib/report.js';

const run = promisify(execFile);
const ROUNDS = envNumber('BENCH_ROUNDS', 5);
const VERSION = process.env.BENCH_VERSION ?? 'v1.5.5';
const SCHEMATIC = `customization:
  systemExtensions:
    officialExtensions: [siderolabs/amd-ucode, siderolabs/realtek-firmware, siderolabs/vfat-module]
`;

const fx = await fixtureReleases();
const dataDir = await mkdtemp(join(tmpdir(), 'if-bench-registry-'));
const factory = await startFactoryProcess({
  IMAGE_FACTORY_DATA_DIR: join(dataDir, 'factory'),
  IMAGE_FACTORY_LOG_LEVEL: 'warn',
  IMAGE_FACTORY__artifacts__source: 'oci-layout',
  IMAGE_FACTORY__artifacts__layoutDir: fx.root,
});
const registry = await startRegistry();
let pulls = 0;

/** One `skopeo copy` of the amd64 image into a fresh OCI layout; returns its wall time in ms. */
async function pull(ref: string): Promise<number> {
  const dest = join(dataDir, `pull-${pulls++}`);
  const { ms } = await timed(() =>
    run('skopeo', [
      'copy',
      '--src-tls-verify=false',
      '--override-arch=amd64',
      `docker://${ref}`,
      `oci:${dest}:x`,
    ]),
  );
  await rm(dest, { recursive: true, force: true });
  return ms;
}

try {
  const res = await fetch(`${factory.url}/schematics`, { method: 'POST', body: SCHEMATIC });
  if (res.status !== 201) throw new Error(`POST /schematics: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const ours = `${factory.url.replace('http://', '')}/installer/${id}:${VERSION}`;
  const reference = `${registry.host}/bench/installer:${VERSION}`;

  const first = await pull(ours);
  // The same index, manifests and blobs (digests preserved) in docker-registry.
  await run('skopeo', [
    'copy',
    '--all',
    '--preserve-digests',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    `docker://${ours}`,
    `docker://${reference}`,
  ]);
  await pull(reference); // warm-up of the reference (page cache, registry start-up)
  const warm: number[] = [];
  const ref: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) {
      warm.push(await pull(ours));
      ref.push(await pull(reference));
    } else {
      ref.push(await pull(reference));
      warm.push(await pull(ours));
    }
  }
  const base = `${factory.url}/v2/installer/${id}/manifests`;
  const index = (await (await fetch(`${base}/${VERSION}`)).json()) as {
    manifests: { digest: string; platform: { architecture: string } }[];
  };
  const amd64 = index.manifests.find((m) => m.platform.architecture === 'amd64')!.digest;
  const layers = ((await (await fetch(`${base}/${amd64}`)).json()) as { layers: { size: number }[] }).layers;
  const mib = layers.reduce((n, l) => n + l.size, 0) / 1024 ** 2;
  console.log(`registry: installer ${VERSION} amd64, ${layers.length} layers, ${mib.toFixed(1)} MiB`);
  figure('registry: first pull (builds both arches)', first, median(ref), 'ms');
  figure('registry: warm pull', median(warm), median(ref), 'ms', { goal: { max: 1.2 } });
} finally {
  await registry.stop();
  await factory.stop();
  await rm(dataDir, { recursive: true, force: true });
}
