/**
 * Fastify hooks for metrics: request duration per route and status for every request, and for
 * asset requests (`/image`, `/pxe`) a {@link MetricsContext} around the handler so the asset cache
 * can label what it serves, plus the extension-hit counter on successful deliveries.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AssetRequest } from '../profile/build-request.js';
import { parseAssetPath, splitAssetSuffixes } from '../profile/path.js';
import { parsePxePath } from '../profile/pxe.js';
import { tryParseTalosVersion } from '../profile/version.js';
import type { FactoryMetrics } from './metrics.js';
import type { AssetRequestContext, MetricsContext } from './request-context.js';

/** Routes whose requests get an asset context, and how each parses its path. */
const ASSET_ROUTES: Readonly<Record<string, (path: string) => AssetRequest>> = {
  '/image/:schematic/:version/:path': (path) => parseAssetPath(splitAssetSuffixes(path).path),
  '/pxe/:schematic/:version/:path': (path) => parsePxePath(path),
};

type AssetParams = { version?: string; path?: string };

/** Kinds that carry no system extensions (their deliveries are not extension hits). */
const WITHOUT_EXTENSIONS = new Set(['kernel', 'cmdline']);

function assetContext(request: FastifyRequest): AssetRequestContext | undefined {
  const parse = ASSET_ROUTES[request.routeOptions.url ?? ''];
  if (!parse) return undefined;
  const { version = '', path = '' } = request.params as AssetParams;
  const tag = tryParseTalosVersion(version)?.tag;
  let req: AssetRequest | undefined;
  try {
    req = parse(path);
  } catch {
    return undefined; // the route answers 400; nothing will be cached or built
  }
  if (tag === undefined) return undefined;
  return { labels: { talos_version: tag, output_kind: req.kind, arch: req.arch } };
}

/** Adds the metrics hooks to `app` (global hooks: call before routes are registered). */
export function registerHttpMetrics(
  app: FastifyInstance,
  metrics: FactoryMetrics,
  context: MetricsContext,
): void {
  const contexts = new WeakMap<FastifyRequest, AssetRequestContext>();

  app.addHook('preHandler', (request, _reply, done) => {
    const ctx = assetContext(request);
    if (!ctx) return done();
    contexts.set(request, ctx);
    // The handler runs (and the first requester's build starts) inside this context.
    context.run(ctx, () => done());
  });

  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(status),
      },
      reply.elapsedTime / 1000,
    );
    const ctx = contexts.get(request);
    if (ctx?.extensions && status >= 200 && status < 300 && !WITHOUT_EXTENSIONS.has(ctx.labels.output_kind)) {
      for (const extension of ctx.extensions) metrics.extensionHits.inc({ extension });
    }
    done();
  });
}
