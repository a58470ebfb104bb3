/**
 * Benchmark: serving a large cached asset. The fixture assets are small (about 1 MiB), so a
 * synthetic random file (BENCH_ASSET_MIB, default 200 MiB) is stored through the asset cache API
 * (`FsAssetCache.put`) under the exact key the factory computes for `kernel-amd64` of a fixture
 * release; the factory then runs as its own process on that data dir and serves it through the
 * normal `GET /image/:schematic/:version/kernel-amd64` route — nothing stubbed, only the cache
 * entry's bytes are synthetic. nginx (one worker, sendfile) serves the same file (a hard link to
 * the cache blob) as the reference. The same factory also runs behind a second nginx configured as
 * the README's "Behind nginx" section says (`http.accelRedirect`): the factory answers the hit with
 * headers and `X-Accel-Redirect`, nginx sends the bytes — compared with nginx serving the file
 * directly. Node alone is compared with a bare Node server reading the same 1 MiB chunks.
 *
 * Figures: throughput of BENCH_CLIENTS (4) keep-alive clients downloading repeatedly for
 * BENCH_SECONDS (5) with wrk, median of BENCH_ROUNDS (5) rounds in rotating order, and the server
 * process's CPU time per GiB served (less sensitive than throughput to other load on the machine).
 * Two bare Node servers (64 KiB and 1 MiB reads) are extra references (BENCH_NODE_REFERENCES=0
 * skips them). Then the peak RSS of the factory (VmRSS every 100 ms) during BENCH_DOWNLOADS (50)
 * simultaneous full downloads, against its idle RSS just before.
 */
import { randomFillSync } from 'node:crypto';
import { open, link, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsAssetCache } from '../src/cache/fs-cache.js';
import { validateConfig } from '../src/config/load.js';
import { createFactory } from '../src/factory.js';
import { fixtureReleases } from '../test/helpers/fixture-factory.js';
import { startFactoryProcess } from './lib/factory-process.js';
import { downloadAll } from './lib/http-client.js';
import { startNginx } from './lib/nginx.js';
import { cpuMs } from './lib/cpu.js';
import { startNodeFileServer } from './lib/node-file-server.js';
import { envNumber, figure, median, timed } from './lib/report.js';
import { startNginxFront } from '../test/helpers/nginx-front.js';
import { readRssKiB, sampleRss } from './lib/rss.js';
import { wrkThroughput } from './lib/wrk.js';

const MIB = 1024 ** 2;
const SIZE_MIB = envNumber('BENCH_ASSET_MIB', 200);
const SECONDS = envNumber('BENCH_SECONDS', 5);
const ROUNDS = envNumber('BENCH_ROUNDS', 5);
const CLIENTS = envNumber('BENCH_CLIENTS', 4);
const DOWNLOADS = envNumber('BENCH_DOWNLOADS', 50);
const VERSION = process.env.BENCH_VERSION ?? 'v1.10.6';
const NODE_REFERENCES = (process.env.BENCH_NODE_REFERENCES ?? '1') !== '0';

/** Writes `mib` MiB of random bytes to `path`. */
async function writeRandomFile(path: string, mib: number): Promise<void> {
  const fh = await open(path, 'wx', 0o644);
  try {
    const chunk = Buffer.alloc(MIB);
    for (let i = 0; i < mib; i++) await fh.write(randomFillSync(chunk));
  } finally {
    await fh.close();
  }
}

const fx = await fixtureReleases();
const dataDir = await mkdtemp(join(tmpdir(), 'if-bench-download-'));
const artifacts = { source: 'oci-layout' as const, layoutDir: fx.root };

// 1. Put the synthetic asset into the factory's own cache under the kernel key it will compute.
const setup = await timed(async () => {
  const config = validateConfig({
    dataDir,
    artifacts,
    log: { level: 'silent' },
    http: { listen: '127.0.0.1:0' },
  });
  const f = await createFactory(config);
  try {
    // The kernel's own key, planned by the factory (checked below by the served size).
    const schematic = await f.schematics.create('customization: {}\n');
    const { key } = await f.assets.plan(schematic, VERSION, {
      kind: 'kernel',
      arch: 'amd64',
      platform: 'metal',
      secureBoot: false,
    });
    const file = join(dataDir, 'synthetic.bin');
    await writeRandomFile(file, SIZE_MIB);
    const cache = new FsAssetCache({ dir: join(dataDir, 'assets'), maxBytes: config.cache.maxBytes });
    return cache.put(key, file);
  } finally {
    await f.close();
  }
});
const asset = setup.value;
console.log(
  `download: synthetic ${SIZE_MIB} MiB asset cached under the ${VERSION} kernel-amd64 key in ${(setup.ms / 1000).toFixed(1)} s (not measured)`,
);

const factory = await startFactoryProcess({
  IMAGE_FACTORY_DATA_DIR: dataDir,
  IMAGE_FACTORY_LOG_LEVEL: 'info',
  IMAGE_FACTORY__artifacts__source: artifacts.source,
  IMAGE_FACTORY__artifacts__layoutDir: artifacts.layoutDir,
  IMAGE_FACTORY__http__accelRedirect: '/_factory',
});
const front = await startNginxFront({ upstream: `127.0.0.1:${factory.port}`, prefix: '/_factory', dataDir });
const staticDir = join(dataDir, 'static');
await mkdir(staticDir, { recursive: true });
await link(join(dataDir, 'assets', 'blobs', asset.sha256), join(staticDir, 'kernel-amd64'));
const nginx = await startNginx(staticDir, { workers: 1 });
const blobPath = join(dataDir, 'assets', 'blobs', asset.sha256);
// Bare Node servers of the same file: Node's default 64 KiB reads (what the factory's cache uses)
// and 1 MiB reads, to tell Node's own cost from the factory's.
const bareNode = NODE_REFERENCES
  ? [
      { name: 'bare node 1 MiB reads', chunk: MIB, server: await startNodeFileServer(blobPath, MIB) },
      {
        name: 'bare node 64 KiB reads',
        chunk: 64 * 1024,
        server: await startNodeFileServer(blobPath, 64 * 1024),
      },
    ]
  : [];

try {
  const res = await fetch(`${factory.url}/schematics`, { method: 'POST', body: '{}' });
  if (res.status !== 201) throw new Error(`POST /schematics: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const assetPath = `/image/${id}/${VERSION}/kernel-amd64`;
  const ours = `${factory.url}${assetPath}`;
  const viaFront = `${front.url}${assetPath}`;
  const reference = `${nginx.url}/kernel-amd64`;

  // Warm-up: the factory re-hashes a cached blob the first time a process serves it; page cache.
  const [warm] = await downloadAll(ours, 1, { hash: true });
  if (warm?.status !== 200 || warm.bytes !== asset.size || warm.sha256 !== asset.sha256) {
    throw new Error(
      `GET ${ours}: status ${warm?.status}, ${warm?.bytes} bytes — not the synthetic asset (did the kernel cache key in AssetService change?)`,
    );
  }
  const [warmFront] = await downloadAll(viaFront, 1, { hash: true });
  if (warmFront?.status !== 200 || warmFront.sha256 !== asset.sha256)
    throw new Error(`GET ${viaFront}: status ${warmFront?.status}, not the asset: ${await front.errors()}`);
  const [warmRef] = await downloadAll(reference, 1);
  if (warmRef?.status !== 200 || warmRef.bytes !== asset.size)
    throw new Error(`nginx: status ${warmRef?.status}, ${warmRef?.bytes} bytes`);

  // 2. Memory while many clients download at once (first, so "idle" is the process after start-up).
  await new Promise((r) => setTimeout(r, 500));
  const idleKiB = await readRssKiB(factory.pid);
  const sampler = sampleRss(factory.pid, 100);
  const burst = await timed(() => downloadAll(ours, DOWNLOADS));
  const { peakKiB, samples } = await sampler.stop();
  const complete = burst.value.filter((d) => d.status === 200 && d.bytes === asset.size).length;
  const burstMiB = (DOWNLOADS * asset.size) / MIB;

  // 3. Throughput and server CPU per GiB, rotating which server goes first each round.
  // The front's CPU is nginx's (workers are the master's children) plus the factory's headers.
  type Server = { name: string; url: string; pids: { pid: number; children: boolean }[] };
  const servers: Server[] = [
    { name: 'ours', url: ours, pids: [{ pid: factory.pid, children: false }] },
    {
      name: 'front',
      url: viaFront,
      pids: [
        { pid: front.pid, children: true },
        { pid: factory.pid, children: false },
      ],
    },
    { name: 'nginx', url: reference, pids: [{ pid: nginx.pid, children: true }] },
    ...bareNode.map((b) => ({
      name: b.name,
      url: b.server.url,
      pids: [{ pid: b.server.pid, children: false }],
    })),
  ];
  const cpuOf = async (x: Server): Promise<number> => {
    let ms = 0;
    for (const p of x.pids) ms += await cpuMs(p.pid, { children: p.children });
    return ms;
  };
  const mibs = new Map<string, number[]>(servers.map((x) => [x.name, []]));
  const cpuPerGiB = new Map<string, number[]>(servers.map((x) => [x.name, []]));
  let errors = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < servers.length; k++) {
      const server = servers[(round + k) % servers.length];
      if (!server) continue;
      const cpuBefore = await cpuOf(server);
      const r = await wrkThroughput(server.url, {
        connections: CLIENTS,
        threads: Math.min(CLIENTS, 2),
        seconds: SECONDS,
      });
      const cpu = (await cpuOf(server)) - cpuBefore;
      errors += r.errors;
      mibs.get(server.name)?.push(r.mibPerSecond);
      cpuPerGiB.get(server.name)?.push(cpu / (r.bytes / 1024 ** 3));
    }
  }
  const med = (m: Map<string, number[]>, name: string): number => median(m.get(name) ?? []);
  const fmt = (m: Map<string, number[]>): string =>
    [...m.entries()].map(([name, xs]) => `${name} [${xs.map((x) => x.toFixed(0)).join(' ')}]`).join(' ');

  console.log(
    `download: ${SIZE_MIB} MiB asset; ${CLIENTS} keep-alive clients (wrk) for ${SECONDS} s × ${ROUNDS} rounds per server; nginx 1 worker with sendfile`,
  );
  figure(
    'download via nginx front (X-Accel-Redirect) vs nginx static, throughput',
    med(mibs, 'front'),
    med(mibs, 'nginx'),
    'MiB/s',
    { goal: { min: 0.9 } },
  );
  figure(
    'download via nginx front vs nginx static, server CPU per GiB (nginx + factory)',
    med(cpuPerGiB, 'front'),
    med(cpuPerGiB, 'nginx'),
    'ms',
  );
  figure('download, Node alone vs nginx static, throughput', med(mibs, 'ours'), med(mibs, 'nginx'), 'MiB/s');
  figure(
    'download, Node alone vs nginx static, server CPU per GiB',
    med(cpuPerGiB, 'ours'),
    med(cpuPerGiB, 'nginx'),
    'ms',
  );
  for (const b of bareNode) {
    // The factory reads 1 MiB chunks: that reference carries the goals, 64 KiB is Node's default.
    const same = b.chunk === 1024 * 1024;
    figure(
      `download, Node alone vs ${b.name}, throughput`,
      med(mibs, 'ours'),
      med(mibs, b.name),
      'MiB/s',
      same ? { goal: { min: 0.9 } } : {},
    );
    figure(
      `download, Node alone vs ${b.name}, server CPU per GiB`,
      med(cpuPerGiB, 'ours'),
      med(cpuPerGiB, b.name),
      'ms',
      same ? { goal: { max: 1.3 } } : {},
    );
  }
  console.log(`download throughput samples MiB/s: ${fmt(mibs)}; wrk errors ${errors}`);
  console.log(`download CPU ms per GiB samples: ${fmt(cpuPerGiB)}`);
  console.log(
    `download burst: ${DOWNLOADS} simultaneous downloads, ${complete}/${DOWNLOADS} complete and full-size, ${(burst.ms / 1000).toFixed(1)} s, ${(burstMiB / (burst.ms / 1000)).toFixed(0)} MiB/s aggregate (node client in the bench process)`,
  );
  figure(
    `download burst: factory peak RSS during ${DOWNLOADS} parallel downloads (${samples} samples) vs idle`,
    peakKiB / 1024,
    idleKiB / 1024,
    'MiB',
    { digits: 1 },
  );
  console.log(
    `download burst: peak − idle = ${((peakKiB - idleKiB) / 1024).toFixed(1)} MiB for ${DOWNLOADS} × ${SIZE_MIB} MiB in flight`,
  );
} finally {
  for (const b of bareNode) await b.server.stop();
  await nginx.stop();
  await front.stop();
  await factory.stop();
  await rm(dataDir, { recursive: true, force: true });
}
