/**
 * Debian nginx in front of a factory on loopback, configured as the README's "Behind nginx"
 * section says: everything proxied to the factory, and an `internal` location aliasing the data
 * dir for `X-Accel-Redirect` answers (`http.accelRedirect`), served with sendfile.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';

/** What {@link nginxFrontConfig} needs. */
export interface NginxFrontOptions {
  /** `host:port` nginx listens on. */
  listen: string;
  /** `host:port` of the factory. */
  upstream: string;
  /** `http.accelRedirect` of the factory, e.g. `/_factory`. */
  prefix: string;
  /** The factory's data dir (absolute). */
  dataDir: string;
}

/**
 * The `http { … }` body of the front: the README shows the same server block. Headers nginx does
 * not carry over an internal redirect (ETag, X-Request-ID, the registry and CORS headers) are
 * re-added from the factory's answer; nginx's own validators are off so only the factory's
 * ETag exists (nginx's range filter then honours If-Range against it).
 */
export function nginxFrontConfig(o: NginxFrontOptions): string {
  const root = o.dataDir.endsWith('/') ? o.dataDir : `${o.dataDir}/`;
  return `upstream image_factory {
    server ${o.upstream};
    keepalive 16;
  }
  server {
    listen ${o.listen};
    location / {
      proxy_pass http://image_factory;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Sendfile-Type X-Accel-Redirect;
      proxy_buffering off;
      proxy_read_timeout 30m;
      client_max_body_size 1m;
    }
    location ${o.prefix}/ {
      internal;
      alias ${root};
      sendfile on;
      tcp_nopush on;
      etag off;
      if_modified_since off;
      add_header Last-Modified "";
      add_header ETag $upstream_http_etag;
      add_header X-Request-ID $upstream_http_x_request_id;
      add_header Docker-Content-Digest $upstream_http_docker_content_digest;
      add_header Docker-Distribution-API-Version $upstream_http_docker_distribution_api_version;
      add_header Access-Control-Allow-Origin $upstream_http_access_control_allow_origin;
      add_header Access-Control-Expose-Headers $upstream_http_access_control_expose_headers;
      add_header Vary $upstream_http_vary;
    }
  }`;
}

/** A running nginx front. */
export interface NginxFront {
  url: string;
  /** The master process (workers are its children). */
  pid: number;
  /** nginx's error log so far (for failure messages). */
  errors(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts nginx (one worker unless told) in front of `upstream`; stop() ends it by its PID. */
export async function startNginxFront(
  o: Omit<NginxFrontOptions, 'listen'> & { workers?: number },
): Promise<NginxFront> {
  const dir = await mkdtemp(join(tmpdir(), 'if-nginx-front-'));
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const port = await freePort();
  // As root, workers would switch to `nobody`, which cannot read a 0700 temp data dir.
  const user = process.getuid?.() === 0 ? 'user root root;' : '';
  const conf = `daemon off;
${user}
worker_processes ${o.workers ?? 1};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  ${nginxFrontConfig({ ...o, listen: `127.0.0.1:${port}` })}
}
`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  const proc: ChildProcess = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const errors = (): Promise<string> => readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGQUIT');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      break;
    } catch (e) {
      if (i >= 100 || proc.exitCode !== null) {
        const log = await errors();
        await stop();
        throw new Error(`nginx front did not answer: ${(e as Error).message}\n${log}`);
      }
      await sleep(100);
    }
  }
  return { url, pid: proc.pid ?? 0, errors, stop };
}
