/**
 * A fault-injecting HTTP proxy for tests, placed in front of a registry. Rules (matched in order,
 * each for a number of times) can answer with a status (500, 429 + Retry-After…), cut a body
 * short, flip one body byte, drop Content-Length, stall forever (before the response or after
 * part of the body), reset the connection, trickle the body out slowly, or emulate tag pagination
 * (distribution 2.8 ignores `n`/`last` on tags/list, registries like ghcr.io honour them).
 * The Host header is forwarded unchanged so the registry's Location URLs point back at the proxy.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What to do with a matching request. */
export type Fault =
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
    }
  | { readonly kind: 'truncate'; readonly afterBytes: number }
  | { readonly kind: 'corrupt'; readonly offset: number }
  | { readonly kind: 'strip-length' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'stall'; readonly afterBytes: number }
  /** Drops the connection with a TCP RST before answering. */
  | { readonly kind: 'reset' }
  /** Sends the body in `pieces` parts, `intervalMs` apart (headers at once). */
  | { readonly kind: 'trickle'; readonly pieces: number; readonly intervalMs: number }
  | { readonly kind: 'paginate-tags' };

/** When and how often a fault applies. */
export interface FaultRule {
  readonly method?: string;
  readonly path?: RegExp;
  readonly fault: Fault;
  /** How many matching requests it applies to (default: all). */
  readonly times?: number;
}

/** A request as the proxy saw it. */
export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly fault?: Fault['kind'];
  readonly status?: number;
  /** When the request arrived (ms since the epoch). */
  readonly at: number;
}

/** A running proxy. */
export interface FaultProxy {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  readonly url: string;
  readonly requests: ProxiedRequest[];
  inject(rule: FaultRule): void;
  clear(): void;
  stop(): Promise<void>;
}

interface ActiveRule {
  readonly rule: FaultRule;
  remaining: number;
}

interface Upstream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly message: IncomingMessage;
}

function forward(target: URL, req: IncomingMessage, path: string): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const up = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path, headers: req.headers },
      (message) => resolve({ status: message.statusCode ?? 502, headers: message.headers, message }),
    );
    up.on('error', reject);
    req.pipe(up);
  });
}

async function readAll(message: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of message) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Emulates `?n=&last=` pagination with `Link` over the registry's full tag list. */
async function paginateTags(target: URL, req: IncomingMessage, res: ServerResponse): Promise<number> {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const up = await forward(target, req, url.pathname);
  const body = await readAll(up.message);
  if (up.status !== 200) {
    res.writeHead(up.status, up.headers);
    res.end(body);
    return up.status;
  }
  const doc = JSON.parse(body.toString('utf8')) as { name: string; tags: string[] | null };
  const all = [...(doc.tags ?? [])].sort();
  const n = Number(url.searchParams.get('n') ?? all.length);
  const last = url.searchParams.get('last');
  const start = last === null ? 0 : all.findIndex((t) => t > last);
  const page = start === -1 ? [] : all.slice(start, start + n);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const lastOfPage = page[page.length - 1];
  if (lastOfPage !== undefined && all.indexOf(lastOfPage) < all.length - 1) {
    headers.link = `<${url.pathname}?n=${n}&last=${encodeURIComponent(lastOfPage)}>; rel="next"`;
  }
  res.writeHead(200, headers);
  res.end(JSON.stringify({ name: doc.name, tags: page }));
  return 200;
}

/** Starts a proxy on 127.0.0.1 (free port) in front of `targetUrl` (e.g. `http://127.0.0.1:5000`). */
export async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  let rules: ActiveRule[] = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();

  const take = (req: IncomingMessage): Fault | undefined => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const found = rules.find(
      (r) =>
        (r.rule.method === undefined || r.rule.method === req.method) &&
        (r.rule.path === undefined || r.rule.path.test(path)),
    );
    if (!found) return undefined;
    found.remaining -= 1;
    if (found.remaining <= 0) rules = rules.filter((r) => r !== found);
    return found.rule.fault;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = req.url ?? '/';
    const fault = take(req);
    const at = Date.now();
    const log = (status?: number): void => {
      requests.push({
        at,
        method: req.method ?? '',
        path,
        ...(fault ? { fault: fault.kind } : {}),
        ...(status === undefined ? {} : { status }),
      });
    };
    if (fault?.kind === 'hang') {
      log();
      return;
    }
    if (fault?.kind === 'reset') {
      log();
      req.socket.resetAndDestroy();
      return;
    }
    if (fault?.kind === 'status') {
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(
        fault.body ?? JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `injected ${fault.status}` }] }),
      );
      log(fault.status);
      return;
    }
    if (fault?.kind === 'paginate-tags') {
      log(await paginateTags(target, req, res));
      return;
    }
    const up = await forward(target, req, path);
    log(up.status);
    if (fault?.kind === 'stall') {
      res.writeHead(up.status, up.headers);
      const body = await readAll(up.message);
      // Sends part of the body and then nothing, keeping the connection open.
      res.write(body.subarray(0, fault.afterBytes));
      return;
    }
    if (fault?.kind === 'truncate') {
      res.writeHead(up.status, up.headers);
      let sent = 0;
      for await (const chunk of up.message) {
        const buf = chunk as Buffer;
        const room = fault.afterBytes - sent;
        if (room <= 0) break;
        res.write(buf.subarray(0, room));
        sent += Math.min(room, buf.length);
        if (sent >= fault.afterBytes) break;
      }
      up.message.destroy();
      // Give the partial body a moment to leave before the connection is cut.
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    if (fault?.kind === 'trickle') {
      const body = await readAll(up.message);
      res.writeHead(up.status, up.headers);
      const piece = Math.max(1, Math.ceil(body.length / fault.pieces));
      for (let off = 0; off < body.length && !res.destroyed; off += piece) {
        if (off > 0) await new Promise((r) => setTimeout(r, fault.intervalMs));
        res.write(body.subarray(off, off + piece));
      }
      res.end();
      return;
    }
    if (fault?.kind === 'corrupt' || fault?.kind === 'strip-length') {
      const body = await readAll(up.message);
      if (fault.kind === 'corrupt' && fault.offset < body.length)
        body[fault.offset] = (body[fault.offset] ?? 0) ^ 0xff;
      const headers = { ...up.headers };
      if (fault.kind === 'strip-length') delete headers['content-length'];
      res.writeHead(up.status, headers);
      res.end(body);
      return;
    }
    res.writeHead(up.status, up.headers);
    up.message.pipe(res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`fault proxy: ${e instanceof Error ? e.message : String(e)}`);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    inject: (rule) => {
      rules.push({ rule, remaining: rule.times ?? Number.POSITIVE_INFINITY });
    },
    clear: () => {
      rules = [];
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
