/**
 * A bare Node file server in its own process (node:http + fs.createReadStream piped into the
 * response): the floor for what any Node server streaming that file can do, to tell the factory's
 * own overhead apart from Node's.
 */
import { spawn } from 'node:child_process';
import { freePort } from './nginx.js';
import { stopChild, waitForHttp } from './child.js';

/** A running bare Node file server. */
export interface NodeFileServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const SERVER = `
const { createServer } = require('node:http');
const { createReadStream, statSync } = require('node:fs');
const [file, port, hwm] = process.argv.slice(1);
createServer((req, res) => {
  res.writeHead(200, { 'content-length': statSync(file).size, 'content-type': 'application/octet-stream' });
  createReadStream(file, { highWaterMark: Number(hwm) }).pipe(res);
}).listen(Number(port), '127.0.0.1');
`;

/** Serves `file` at every path, reading it in `chunkBytes` chunks (Node's default is 64 KiB). */
export async function startNodeFileServer(file: string, chunkBytes = 64 * 1024): Promise<NodeFileServer> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['-e', SERVER, file, String(port), String(chunkBytes)], {
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(url, 'HEAD');
  return {
    url,
    pid: proc.pid ?? 0,
    stop: async () => {
      await stopChild(proc);
    },
  };
}
