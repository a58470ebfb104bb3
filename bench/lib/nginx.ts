/** Starts Debian nginx on 127.0.0.1 serving one directory: the reference server for benchmarks. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopChild, waitForHttp } from './child.js';
import { freePort } from '../../test/helpers/free-port.js';

export { freePort };

/** A running nginx. */
export interface Nginx {
  url: string;
  /** The master process (workers are its children). */
  pid: number;
  stop(): Promise<void>;
}

/** Serves `root` with nginx (sendfile on, access log off; workers default to one per core). */
export async function startNginx(root: string, options: { workers?: number } = {}): Promise<Nginx> {
  const dir = await mkdtemp(join(tmpdir(), 'if-nginx-'));
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const port = await freePort();
  // Started as root, nginx workers switch to `nobody`, which cannot enter the 0700 mkdtemp
  // directories callers serve from (every request would be a 403); keep them as root instead.
  const user = process.getuid?.() === 0 ? 'user root root;' : '';
  const conf = `
daemon off;
${user}
worker_processes ${options.workers ?? 'auto'};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  default_type application/octet-stream;
  server { listen 127.0.0.1:${port}; root ${root}; }
}`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  const proc: ChildProcess = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  await waitForHttp(`http://127.0.0.1:${port}/`);
  return {
    url: `http://127.0.0.1:${port}`,
    pid: proc.pid ?? 0,
    stop: async () => {
      await stopChild(proc, 'SIGQUIT');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
