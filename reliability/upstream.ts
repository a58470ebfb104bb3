/**
 * Upstream faults: the release registry (real docker-registry with the fixture release) behind the
 * fault-injecting proxy. For each fault a fresh factory asks for an asset whose build needs the
 * faulty requests. Promises: a clear 502/504 naming the upstream request (method, path, what it
 * was for); no more requests per resource than the retry budget (`artifacts.retries` + 1), with
 * Retry-After honoured; nothing poisoned or half-written left in the data dir; once the fault is
 * cleared the same factory serves the asset, byte-identical to a clean factory's.
 */
import type { FixtureManifest } from '../src/demo/manifest.js';
import { publishFixtures } from '../test/fixtures/publish.js';
import { startFaultProxy, type FaultProxy, type FaultRule } from '../test/helpers/fault-proxy.js';
import { startRegistry } from '../test/helpers/registry.js';
import type { RunContext } from './lib/context.js';
import { leftovers, verifyEntries } from './lib/data-dir.js';
import { createSchematic, send, text, wholeAndVerified } from './lib/http.js';
import { fmt, Rows } from './lib/report.js';

const RETRIES = 2;
const REQUEST_TIMEOUT_MS = 2000;
const BLOBS = /\/blobs\/sha256:/;
const MANIFESTS = /\/siderolabs\/imager\/manifests\//;

/** One fault and what the factory must answer while it lasts. */
interface Scenario {
  readonly name: string;
  readonly rules: readonly FaultRule[];
  /** Status expected while the fault lasts (200: the fault is within what must be absorbed). */
  readonly status: 200 | 502 | 504;
  /** The error message must match (the upstream step named). */
  readonly message?: RegExp;
  /** Least gap between two attempts at one resource (Retry-After). */
  readonly minGapMs?: number;
  /** Least time the request must take (a trickle really trickled). */
  readonly minMs?: number;
}

/** The message names the upstream request: registry, method and path (and what for), or the blob and its source. */
const STEP =
  /registry 127\.0\.0\.1:\d+ .*(GET|HEAD) \/v2\/siderolabs\/[a-z-]+\/(manifests|blobs)\/\S+ \(|blob siderolabs\/[a-z-]+@sha256:[a-f0-9]{64} from 127\.0\.0\.1:\d+/;

function scenarios(quick: boolean): Scenario[] {
  const all: Scenario[] = [
    {
      name: '500 on the release manifest (persistent)',
      rules: [{ path: MANIFESTS, fault: { kind: 'status', status: 500 } }],
      status: 502,
      message: /HTTP 500/,
    },
    {
      name: '429 + Retry-After: 1 on blobs (persistent)',
      rules: [{ path: BLOBS, fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } } }],
      status: 502,
      message: /HTTP 429/,
      minGapMs: 950,
    },
    {
      name: '429 + Retry-After: 1, twice (within the budget)',
      rules: [
        {
          path: BLOBS,
          fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
          times: RETRIES,
        },
      ],
      status: 200,
      minGapMs: 950,
    },
    {
      name: 'connection reset on blobs (persistent)',
      rules: [{ path: BLOBS, fault: { kind: 'reset' } }],
      status: 502,
      message: /ECONNRESET|socket|terminated|closed/i,
    },
    {
      name: 'stall past the request timeout (no answer to the manifest)',
      rules: [{ path: MANIFESTS, fault: { kind: 'hang' } }],
      status: 504,
      message: /timed out/,
    },
    {
      name: 'stall mid-blob (part of the body, then nothing)',
      rules: [{ path: BLOBS, fault: { kind: 'stall', afterBytes: 4096 } }],
      status: 504,
      message: /timed out/,
    },
    {
      name: 'truncated blobs (connection cut after 1000 bytes)',
      rules: [{ path: BLOBS, fault: { kind: 'truncate', afterBytes: 1000 } }],
      status: 502,
    },
    {
      name: 'wrong bytes under a digest',
      rules: [{ path: BLOBS, fault: { kind: 'corrupt', offset: 100 } }],
      status: 502,
      message: /sha256:[a-f0-9]{64}/,
    },
    {
      name: 'slow trickle, gaps within the timeout',
      rules: [{ path: BLOBS, fault: { kind: 'trickle', pieces: 12, intervalMs: 150 } }],
      status: 200,
      minMs: 11 * 150,
    },
    {
      name: 'slow trickle, gaps longer than the timeout',
      rules: [{ path: BLOBS, fault: { kind: 'trickle', pieces: 3, intervalMs: REQUEST_TIMEOUT_MS + 700 } }],
      status: 504,
      message: /timed out/,
    },
  ];
  // The short form keeps one of each family.
  return quick ? all.filter((_, i) => [0, 2, 3, 4, 6, 7, 8].includes(i)) : all;
}

/** Requests per resource (path) among `requests`, and the shortest gap between two of one path. */
function attemptsOf(requests: FaultProxy['requests'], matching: readonly RegExp[]) {
  const byPath = new Map<string, number[]>();
  for (const r of requests) {
    if (!matching.some((m) => m.test(r.path.split('?')[0] ?? ''))) continue;
    byPath.set(r.path, [...(byPath.get(r.path) ?? []), r.at]);
  }
  let max = 0;
  let minGap = Number.POSITIVE_INFINITY;
  for (const times of byPath.values()) {
    max = Math.max(max, times.length);
    for (let i = 1; i < times.length; i++) minGap = Math.min(minGap, (times[i] ?? 0) - (times[i - 1] ?? 0));
  }
  return { paths: byPath.size, max, minGap };
}

/** Runs every fault scenario; returns the rows. */
export async function runUpstreamFaults(ctx: RunContext, fx: FixtureManifest): Promise<Rows> {
  const rows = new Rows('upstream');
  const registry = await startRegistry();
  ctx.onClose('release registry', () => registry.stop());
  await publishFixtures(fx.root, registry.host);
  const proxy = await startFaultProxy(registry.url);
  ctx.onClose('fault proxy', () => proxy.stop());
  const version = fx.versions[0]!.spec.tag;
  const extension = `${fx.namespace}/${fx.versions[0]!.extensions.find((e) => e.compatible)!.name}`;
  const yaml = `customization:\n  systemExtensions:\n    officialExtensions: [${extension}]\n`;
  const asset = `initramfs-amd64.xz`;
  const config = (host: string) => ({
    artifacts: {
      source: 'registry' as const,
      core: { registry: host, insecure: true },
      retries: RETRIES,
      requestTimeout: REQUEST_TIMEOUT_MS,
    },
    http: { externalURL: 'http://factory.reliability.test/' },
  });

  // The reference bytes: a factory talking to the registry directly.
  const clean = await ctx.factory('upstream-reference', config(registry.host));
  const id = await createSchematic(clean.process.url, yaml);
  const ref = await send(`${clean.process.url}/image/${id}/${version}/${asset}`, { timeoutMs: 120_000 });
  if (!wholeAndVerified(ref)) throw new Error(`reference build: ${ref.status} ${ref.error ?? ''}`);
  await clean.process.stop();

  const list = scenarios(ctx.options.quick);
  let poisoned = 0;
  let left = 0;
  let checked = 0;
  for (const s of list) {
    const f = await ctx.factory('upstream', config(proxy.host));
    await createSchematic(f.process.url, yaml);
    const url = `${f.process.url}/image/${id}/${version}/${asset}`;
    const mark = proxy.requests.length;
    for (const rule of s.rules) proxy.inject(rule);
    const during = await send(url, {
      headers: { accept: 'application/json' },
      keepBody: true,
      timeoutMs: 120_000,
    });
    proxy.clear();
    const seen = proxy.requests.slice(mark);
    const attempts = attemptsOf(
      seen,
      s.rules.map((r) => r.path ?? /./),
    );
    let message = '';
    if (during.status !== 200) {
      try {
        message = (JSON.parse(text(during)) as { message?: string }).message ?? text(during);
      } catch {
        message = text(during) || (during.error ?? '');
      }
    }
    // A failed build cleans up behind the answer; give it a moment.
    await new Promise((r) => setTimeout(r, 300));
    const entries = await verifyEntries(f.dataDir);
    const rest = await leftovers(f.dataDir, { quiet: true });
    const after = await send(url, { timeoutMs: 120_000 });
    await f.process.stop();
    poisoned += entries.poisoned.length;
    left += rest.length;
    checked += entries.checked;

    const statusOk =
      during.status === s.status &&
      (s.status === 200 ? wholeAndVerified(during) && during.sha256 === ref.sha256 : true);
    const namesStep = s.status === 200 || (STEP.test(message) && (s.message?.test(message) ?? true));
    const budget = attempts.max <= RETRIES + 1;
    const gapOk = s.minGapMs === undefined || attempts.max < 2 || attempts.minGap >= s.minGapMs;
    const slowOk = s.minMs === undefined || during.ms >= s.minMs;
    const recovered = wholeAndVerified(after) && after.sha256 === ref.sha256;
    const clean_ = entries.poisoned.length === 0 && rest.length === 0;
    if (attempts.max > RETRIES + 1 || process.env.RELIABILITY_DEBUG)
      ctx.log(
        `upstream: requests during ${s.name}:\n${seen.map((r) => `  +${r.at - (seen[0]?.at ?? 0)} ms ${r.method} ${r.path} ${r.fault ?? ''} ${r.status ?? ''}`).join('\n')}`,
      );
    ctx.log(
      `upstream: ${s.name}: ${during.status} in ${fmt(during.ms, 'ms')} ${message.slice(0, 160)}; attempts max ${attempts.max} over ${attempts.paths} paths; recovered ${after.status}`,
    );
    rows.check(
      s.name,
      statusOk && namesStep && budget && gapOk && slowOk && recovered && clean_,
      [
        `${during.status} in ${fmt(during.ms / 1000, 's', 1)}`,
        message ? `«${message.length > 150 ? `${message.slice(0, 150)}…` : message}»` : 'bytes = clean build',
        `attempts per resource ≤ ${attempts.max} (${attempts.paths} resources)${s.minGapMs !== undefined && attempts.max > 1 ? `, gap ≥ ${fmt(attempts.minGap, 'ms')}` : ''}`,
        `${entries.poisoned.length} poisoned, ${rest.length} left over`,
        `then ${recovered ? '200, bytes = clean build' : `${after.status} ${after.error ?? ''}`}`,
      ].join('; '),
      `${s.status === 200 ? '200, bytes verified' : `${s.status} naming the request`}; ≤ ${RETRIES + 1} attempts${s.minGapMs !== undefined ? ', Retry-After kept' : ''}; 0 poisoned; recovers`,
    );
  }
  rows.check(
    'nothing poisoned, nothing half-written',
    poisoned === 0 && left === 0,
    `${list.length} faults, ${checked} entries checked: ${poisoned} poisoned, ${left} temp/partial files`,
    '0',
  );
  return rows;
}
