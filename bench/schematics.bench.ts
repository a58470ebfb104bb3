/**
 * Benchmark: POST /schematics and GET /schematics/:id requests per second over loopback, against
 * nginx serving a static file of the same size in the same run. Prints the ratios.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../src/config/load.js';
import { createFactory } from '../src/factory.js';
import { load, ratioLine } from './lib/load.js';
import { startNginx } from './lib/nginx.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const dataDir = await mkdtemp(join(tmpdir(), 'if-bench-'));
const factory = await createFactory(validateConfig({ dataDir, log: { level: 'silent' }, http: { listen: '127.0.0.1:0' } }));
const { url } = await factory.listen();

const body = 'customization:\n  extraKernelArgs: [console=ttyS0, nolapic]\n  systemExtensions:\n    officialExtensions: [siderolabs/amd-ucode]\n';
const created = (await (await fetch(`${url}/schematics`, { method: 'POST', body })).json()) as { id: string; schematic: string };

const staticDir = join(dataDir, 'static');
await mkdir(staticDir, { recursive: true });
await writeFile(join(staticDir, 'schematic.yaml'), created.schematic);
const nginx = await startNginx(staticDir);

try {
  const ref = await load(`${nginx.url}/schematic.yaml`, { seconds });
  const get = await load(`${url}/schematics/${created.id}`, { seconds });
  const post = await load(`${url}/schematics`, { seconds, method: 'POST', body });
  console.log(`schematic size: ${Buffer.byteLength(created.schematic)} bytes, ${seconds}s per run, 32 connections`);
  console.log(ratioLine('GET /schematics/:id', get.rps, ref.rps));
  console.log(ratioLine('POST /schematics   ', post.rps, ref.rps));
  console.log(`p99 latency: nginx ${ref.p99ms} ms, GET ${get.p99ms} ms, POST ${post.p99ms} ms; errors ${get.errors + post.errors}, non-2xx ${get.non2xx + post.non2xx}`);
} finally {
  await nginx.stop();
  await factory.close();
  await rm(dataDir, { recursive: true, force: true });
}
