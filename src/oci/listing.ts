/**
 * Paginated listings: repository tags and the registry catalog, following `Link: <…>; rel="next"`
 * headers (`?n=&last=`) until the registry stops sending one.
 */
import { FactoryError } from '../errors.js';
import { CATALOG_SCOPE } from './auth/authorizer.js';
import { type ClientContext, repoPath } from './context.js';
import { pullScopes, type RepositoryRef } from './repository.js';

/** Options of listings. */
export interface ListOptions {
  /** Requested page size (`n`); registries may cap or ignore it. */
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
}

const MAX_PAGE_BYTES = 16 << 20;
// Bounds a registry that keeps sending `next` links (a bug or a loop).
const MAX_PAGES = 10_000;

/** The `rel="next"` target of a Link header, if any. */
export function parseNextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel="?next"?/i.test(m[2] ?? '')) return m[1];
  }
  return undefined;
}

async function paginate(
  ctx: ClientContext,
  registry: string,
  first: string,
  scopes: string[],
  what: string,
  field: 'tags' | 'repositories',
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const items: string[] = [];
  const seen = new Set<string>();
  let target: string | undefined = first;
  for (let page = 0; target !== undefined; page++) {
    if (page >= MAX_PAGES || seen.has(target)) {
      throw new FactoryError(
        'UPSTREAM_UNAVAILABLE',
        `registry ${registry} kept paginating ${what} (page ${page}, link ${target})`,
      );
    }
    seen.add(target);
    const current: string = target;
    const { body, next } = await ctx.transport.execute(
      {
        method: 'GET',
        registry,
        target: current,
        scopes,
        expect: [200],
        what,
        ...(signal ? { signal } : {}),
      },
      async (res) => ({
        body: await res.bytes(
          MAX_PAGE_BYTES,
          () =>
            new FactoryError(
              'UPSTREAM_UNAVAILABLE',
              `registry ${registry} sent a ${what} page over ${MAX_PAGE_BYTES} bytes`,
            ),
        ),
        next: parseNextLink(res.headers.get('link')),
      }),
    );
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      throw new FactoryError('UPSTREAM_UNAVAILABLE', `registry ${registry} sent invalid JSON for ${what}`);
    }
    const list =
      typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)[field] : undefined;
    // Distribution answers `"tags": null` for a repository whose tags were all deleted.
    if (list !== null && list !== undefined) {
      if (!Array.isArray(list) || !list.every((t) => typeof t === 'string')) {
        throw new FactoryError(
          'UPSTREAM_UNAVAILABLE',
          `registry ${registry} sent a malformed ${what} page (${field} is not a list of strings)`,
        );
      }
      items.push(...(list as string[]));
    }
    target = next === undefined ? undefined : new URL(next, ctx.transport.url(registry, current)).toString();
  }
  return items;
}

function firstPage(path: string, pageSize: number | undefined): string {
  return pageSize === undefined ? path : `${path}?n=${pageSize}`;
}

/** Lists all tags of a repository, following pagination. */
export function listTags(
  ctx: ClientContext,
  repo: RepositoryRef,
  options: ListOptions = {},
): Promise<string[]> {
  return paginate(
    ctx,
    repo.registry,
    firstPage(repoPath(repo, 'tags/list'), options.pageSize),
    pullScopes(repo),
    `tags of ${repo.repository}`,
    'tags',
    options.signal,
  );
}

/** Lists all repositories of a registry (`/v2/_catalog`), following pagination. */
export function listRepositories(
  ctx: ClientContext,
  registry: string,
  options: ListOptions = {},
): Promise<string[]> {
  return paginate(
    ctx,
    registry,
    firstPage('/v2/_catalog', options.pageSize),
    [CATALOG_SCOPE],
    'catalog',
    'repositories',
    options.signal,
  );
}
