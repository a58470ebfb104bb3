/** Loopback load generation with autocannon, returning requests per second. */
import autocannon from 'autocannon';

/** One load run's outcome. */
export interface LoadResult {
  rps: number;
  /** Requests completed in the run. */
  total: number;
  p99ms: number;
  errors: number;
  non2xx: number;
}

/** Runs autocannon against `url` for `seconds` with `connections` connections. */
export async function load(
  url: string,
  opts: {
    seconds?: number;
    connections?: number;
    method?: 'GET' | 'POST';
    body?: string;
    bodyFor?: (n: number) => string;
    /** GET these paths of `url`'s origin in turn, per connection (a page mix). */
    paths?: readonly string[];
  } = {},
): Promise<LoadResult> {
  let n = 0;
  const bodyFor = opts.bodyFor;
  const result = await autocannon({
    url,
    connections: opts.connections ?? 32,
    duration: opts.seconds ?? 5,
    method: opts.method ?? 'GET',
    ...(opts.body !== undefined ? { body: opts.body, headers: { 'content-type': 'application/yaml' } } : {}),
    ...(bodyFor ? { requests: [{ setupRequest: (req) => ({ ...req, body: bodyFor(n++) }) }] } : {}),
    ...(opts.paths ? { requests: opts.paths.map((path) => ({ method: 'GET' as const, path })) } : {}),
  });
  return {
    rps: result.requests.average,
    total: result.requests.total,
    p99ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}
