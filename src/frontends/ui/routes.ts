/**
 * The web wizard's routes: `GET /` (every step; state in the query, so each page is a shareable
 * URL and works without JavaScript) and `GET /ui/static/:file` (stylesheet, script, icon with
 * cache headers). The final page links only what plans for this factory (`availability.ts`);
 * its script follows build status on the same origin (`/status/…`). Pages carry a strict
 * Content-Security-Policy: only the factory's own files, no inline script or style.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { FactoryError, isFactoryError } from '../../errors.js';
import type { LoadedSchematic, SchematicService } from '../../storage/schematic-service.js';
import { AssetProbe, type AssetPlanner } from './availability.js';
import { prefillFrom } from './document.js';
import { resolveFlow, type FlowContext, type WizardData } from './flow.js';
import { offerFor } from './offer.js';
import { renderFinal } from './pages/final.js';
import { renderShell, STEP_LABELS, type PageAssets } from './pages/layout.js';
import { renderStep } from './pages/steps.js';
import { parseState, withState, type Params, type StepName, type WizardState } from './state.js';
import { loadStaticFiles, staticHref, type StaticFile } from './static-files.js';

/** What the wizard needs from the rest of the factory. */
export interface UiDeps {
  readonly schematics: SchematicService;
  readonly release: WizardData;
  /** Plans (never builds) what the final page offers, and reads build status. */
  readonly assets: AssetPlanner;
  /** Secure Boot signing is configured: only then are `-secureboot` assets offered. */
  readonly secureBoot: boolean;
  readonly externalURL: string;
  readonly externalPXEURL: string;
  readonly factoryVersion: string;
  /** Static files; default: read from `src/frontends/ui/static/`. */
  readonly staticFiles?: Map<string, StaticFile>;
}

/** The page policy: the factory's own files only; nothing inline, no frames, forms to itself. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer')
    .header('X-Frame-Options', 'DENY');
}

function firstParam(params: Params, key: string): string {
  const v = params[key];
  return (typeof v === 'string' ? v : (v?.[0] ?? '')).trim();
}

/** Applies a stored schematic to the state (its fields win; target and board follow an overlay). */
function applyPrefill(
  state: WizardState,
  loaded: LoadedSchematic,
): { state: WizardState; notices: string[] } {
  const p = prefillFrom(loaded);
  const next = withState(state, {
    extensions: [...p.extensions].sort(),
    cmdline: p.cmdline,
    meta: p.meta,
    bootloader: p.bootloader,
    overlayOptions: p.overlay?.optionsYaml ?? '',
    ...(p.overlay ? { target: state.target || 'sbc', board: p.overlay.name } : {}),
  });
  const notices = [`Pre-filled from schematic ${loaded.id}.`];
  if (p.dropped.length > 0) {
    notices.push(
      `The wizard cannot edit ${p.dropped.join(', ')}: the schematic it creates will not have ${p.dropped.length === 1 ? 'it' : 'them'}.`,
    );
  }
  return { state: next, notices };
}

function summary(ctx: FlowContext): string {
  const parts = [ctx.board ? `${ctx.board.name} (overlay ${ctx.board.image})` : (ctx.platform?.label ?? '')];
  parts.push(ctx.arch ?? '');
  if (ctx.secureBoot) parts.push('Secure Boot');
  const n = ctx.extensions?.length ?? 0;
  parts.push(n === 0 ? 'no extensions' : `${n} extension${n === 1 ? '' : 's'}`);
  return parts.filter((p) => p !== '').join(', ');
}

/** Registers the wizard routes. */
export function registerUiRoutes(app: FastifyInstance, deps: UiDeps): void {
  const files = deps.staticFiles ?? loadStaticFiles();
  const href = (name: string): string => {
    const f = files.get(name);
    if (!f) throw new Error(`static file ${name} is missing`);
    return staticHref(f);
  };
  const assets: PageAssets = { css: href('wizard.css'), js: href('wizard.js'), icon: href('favicon.svg') };
  const probe = new AssetProbe(deps.assets);

  app.get('/', async (request, reply) => {
    const params = request.query as Params;
    let state = parseState(params);
    let notices: string[] = [];
    let loadError: string | undefined;
    const schematicId = firstParam(params, 'schematic-id');
    if (schematicId !== '') {
      try {
        ({ state, notices } = applyPrefill(state, await deps.schematics.load(schematicId)));
      } catch (e) {
        if (!isFactoryError(e, 'SCHEMATIC_NOT_FOUND')) throw e;
        loadError = e.message;
      }
    }

    const result = await resolveFlow(state, deps.release, { secureBoot: deps.secureBoot });
    const ctx = result.context;
    const shell = { assets, factoryVersion: deps.factoryVersion, notices };
    securityHeaders(reply).header('Cache-Control', 'no-cache').type('text/html; charset=utf-8');
    if (loadError !== undefined) {
      reply.code(404);
    } else if (result.error !== undefined) {
      reply.code(400);
    }

    const stepPage = (step: Exclude<StepName, 'final'>, error: string | undefined) => {
      const view = renderStep(step, ctx);
      return reply.send(
        renderShell({
          ...shell,
          title: view.title,
          nav: { state, steps: ctx.steps, current: step },
          ...(error !== undefined ? { error } : {}),
          body: view.body,
        }),
      );
    };
    if (loadError !== undefined) return stepPage(result.step === 'final' ? 'target' : result.step, loadError);
    if (result.step !== 'final') return stepPage(result.step, result.error);

    // The same creation path as POST /schematics: same parser, canonical form, ID and store.
    if (ctx.document === undefined || !ctx.platform || !ctx.arch || !ctx.quirks || !ctx.versionTag) {
      throw new FactoryError('INTERNAL', 'wizard flow ended without a document');
    }
    let created: LoadedSchematic;
    try {
      created = await deps.schematics.create(ctx.document);
    } catch (e) {
      // The user's mistake (overlay options, odd arguments) shows on the step that made it.
      if (!isFactoryError(e, 'SCHEMATIC_INVALID')) throw e;
      reply.code(400);
      return stepPage('customize', `The schematic is not valid: ${e.message}`);
    }
    const offer = offerFor({
      platform: ctx.platform,
      arch: ctx.arch,
      secureBoot: ctx.secureBoot ?? false,
      board: ctx.board !== undefined,
      quirks: ctx.quirks,
    });
    const offered = [
      ...offer.groups.flatMap((g) => g.assets.map((a) => a.file)),
      ...(offer.pxe?.uses ?? []),
      ...(offer.installer.asset ? [offer.installer.asset.file] : []),
    ];
    const availability = await probe.probe(created, ctx.versionTag, offered);
    const body = renderFinal({
      id: created.id,
      canonical: created.canonical,
      versionTag: ctx.versionTag,
      summary: summary(ctx),
      offer,
      availability,
      externalURL: deps.externalURL,
      externalPXEURL: deps.externalPXEURL,
      editHref: `./?schematic-id=${created.id}`,
    });
    return reply.send(
      renderShell({
        ...shell,
        title: STEP_LABELS.final,
        nav: { state, steps: ctx.steps, current: 'final' },
        body,
      }),
    );
  });

  app.get<{ Params: { file: string }; Querystring: { v?: string } }>(
    '/ui/static/:file',
    async (request, reply) => {
      const f = files.get(request.params.file);
      if (!f) throw new FactoryError('NOT_FOUND', `no static file ${JSON.stringify(request.params.file)}`);
      const etag = `"${f.hash}"`;
      reply
        .header('ETag', etag)
        .header('X-Content-Type-Options', 'nosniff')
        .header(
          'Cache-Control',
          request.query.v === f.hash ? 'public, max-age=31536000, immutable' : 'public, no-cache',
        );
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type(f.type).send(f.body);
    },
  );
}
