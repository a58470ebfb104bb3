/**
 * `GET|POST /status/:schematic/:version/:path` — where the build of one asset stands (beyond
 * upstream, whose users stare at a hanging download on a slow first build). The same checks as
 * the asset route, in the same order, so the same path gives the same 4xx. `GET` answers JSON, or
 * a Server-Sent Events stream with `Accept: text/event-stream` that ends once the asset is ready
 * or failed; `POST` starts the build without downloading and answers `202` with the status.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AssetStatus } from '../../../assets/asset-service.js';
import { planAssetLookup, type LookupDeps, type PlanResult } from '../../../assets/lookup.js';
import { parseAssetPath, splitAssetSuffixes } from '../../../profile/path.js';
import { clientGoneSignal } from '../request-signal.js';

/** What the status route needs. */
export interface StatusRouteDeps extends LookupDeps {
  /** How often the stream re-reads the status (default 500 ms). */
  pollMs?: number;
  /** Longest a stream stays open (default 30 min: past any build timeout, then the client re-asks). */
  maxStreamMs?: number;
}

/** The JSON body of a status (`undefined` fields are left out of the JSON). */
export type StatusBody =
  | { readonly state: 'ready'; readonly size: number; readonly sha256: string }
  | { readonly state: 'idle' }
  | {
      readonly state: 'queued';
      readonly position: number;
      readonly kind: string | undefined;
      readonly dependency: string | undefined;
    }
  | {
      readonly state: 'building';
      readonly kind: string | undefined;
      readonly dependency: string | undefined;
      readonly step: string | undefined;
      readonly elapsedMs: number;
    }
  | {
      readonly state: 'failed';
      readonly code: string;
      readonly message: string;
      readonly dependency: string | undefined;
    };

/** The JSON shape: state plus what that state knows, elapsed instead of a start time. */
export function statusBody(s: AssetStatus, now = Date.now()): StatusBody {
  switch (s.state) {
    case 'ready':
      return { state: 'ready', size: s.size, sha256: s.sha256 };
    case 'idle':
      return { state: 'idle' };
    case 'queued':
      return { state: 'queued', position: s.position, kind: s.kind, dependency: s.dependency };
    case 'building':
      return {
        state: 'building',
        kind: s.kind,
        dependency: s.dependency,
        step: s.step,
        elapsedMs: now - s.startedAt,
      };
    case 'failed':
      return { state: 'failed', code: s.code, message: s.message, dependency: s.dependency };
  }
}

const FINAL = new Set(['ready', 'failed']);

/** Registers the status routes. */
export function registerStatusRoutes(app: FastifyInstance, deps: StatusRouteDeps): void {
  const plan = (p: { schematic: string; version: string; path: string }, reply: FastifyReply) =>
    planAssetLookup(
      deps,
      p.schematic,
      p.version,
      () => parseAssetPath(splitAssetSuffixes(p.path).path),
      clientGoneSignal(reply),
    );

  app.get<{ Params: { schematic: string; version: string; path: string } }>(
    '/status/:schematic/:version/:path',
    async (request, reply) => {
      const planned = await plan(request.params, reply);
      if (!/\btext\/event-stream\b/.test(request.headers.accept ?? '')) {
        return reply
          .header('Cache-Control', 'no-store')
          .send(statusBody(await deps.assets.status(planned.planned)));
      }
      return stream(reply, planned, deps);
    },
  );

  app.post<{ Params: { schematic: string; version: string; path: string } }>(
    '/status/:schematic/:version/:path',
    async (request, reply) => {
      const planned = await plan(request.params, reply);
      deps.assets.start(planned.planned);
      return reply
        .code(202)
        .header('Cache-Control', 'no-store')
        .send(statusBody(await deps.assets.status(planned.planned)));
    },
  );
}

/** Streams status changes as SSE events until a final state, the client leaving, or the cap. */
async function stream(reply: FastifyReply, planned: PlanResult, deps: StatusRouteDeps): Promise<void> {
  const pollMs = deps.pollMs ?? 500;
  const until = Date.now() + (deps.maxStreamMs ?? 30 * 60_000);
  const gone = clientGoneSignal(reply);
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Accel-Buffering': 'no',
  });
  let last = '';
  let lastWrite = Date.now();
  try {
    while (!gone.aborted && Date.now() < until) {
      const body = statusBody(await deps.assets.status(planned.planned));
      // Elapsed time alone is not a change; the step, state or position are.
      const text = JSON.stringify({ ...body, elapsedMs: undefined });
      if (text !== last) {
        res.write(`event: status\ndata: ${JSON.stringify(body)}\n\n`);
        last = text;
        lastWrite = Date.now();
      } else if (Date.now() - lastWrite > 15_000) {
        res.write(': keep-alive\n\n'); // proxies drop idle streams
        lastWrite = Date.now();
      }
      if (FINAL.has(body.state)) break;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    res.end();
  }
}
