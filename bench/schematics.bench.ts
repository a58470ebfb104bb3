/**
 * Benchmark: POST /schematics and GET /schematics/:id requests per second over loopback (the
 * factory in its own process, logging at info to /dev/null), against nginx (one worker, like the
 * single-threaded factory) serving a static file of the same size in the same run.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFactoryProcess } from './lib/factory-process.js';
import { load } from './lib/load.js';
import { figure } from './lib/report.js';
import { startNginx } from './lib/nginx.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const dataDir = await mkdtemp(join(tmpdir(), 'if-bench-'));
const factory = await startFactoryProcess({
  IMAGE_FACTORY_DATA_DIR: dataDir,
  IMAGE_FACTORY_LOG_LEVEL: 'info',
});

const body =
  'customization:\n  extraKernelArgs: [console=ttyS0, nolapic]\n  systemExtensions:\n    officialExtensions: [siderolabs/amd-ucode]\n';
const created = (await (await fetch(`${factory.url}/schematics`, { method: 'POST', body })).json()) as {
  id: string;
  schematic: string;
};

const staticDir = join(dataDir, 'static');
await mkdir(staticDir, { recursive: true });
await writeFile(join(staticDir, 'schematic.yaml'), created.schematic);
const nginx = await startNginx(staticDir, { workers: 1 });

try {
  const ref = await load(`${nginx.url}/schematic.yaml`, { seconds });
  const get = await load(`${factory.url}/schematics/${created.id}`, { seconds });
  const post = await load(`${factory.url}/schematics`, { seconds, method: 'POST', body });
  const fresh = await load(`${factory.url}/schematics`, {
    seconds,
    method: 'POST',
    body,
    bodyFor: (n) => `customization:\n  extraKernelArgs: [console=ttyS0, nolapic, id=${n}]\n`,
  });
  console.log(
    `schematic size: ${Buffer.byteLength(created.schematic)} bytes, ${seconds}s per run, 32 connections`,
  );
  figure('GET /schematics/:id', get.rps, ref.rps, 'req/s');
  figure('POST /schematics (same body)', post.rps, ref.rps, 'req/s');
  figure('POST /schematics (new bodies)', fresh.rps, ref.rps, 'req/s');
  console.log(
    `p99 latency: nginx ${ref.p99ms} ms, GET ${get.p99ms} ms, POST ${post.p99ms} ms; new-body POST ${fresh.p99ms} ms; errors ${get.errors + post.errors + fresh.errors}, non-2xx ${get.non2xx + post.non2xx + fresh.non2xx}`,
  );
} finally {
  await nginx.stop();
  await factory.stop();
  await rm(dataDir, { recursive: true, force: true });
}
