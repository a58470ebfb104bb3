/**
 * Test harness: runs the real Debian `docker-registry` (distribution 2.8) on 127.0.0.1 with a
 * free port and a temp storage directory (deletes enabled), optionally behind htpasswd (bcrypt,
 * made with `htpasswd -Bbn`) or token auth (with an in-process token issuer).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTokenIssuer, type TokenIssuer, type TokenPolicy } from './token-issuer.js';
import { freePort } from './free-port.js';

const run = promisify(execFile);

/** Options of {@link startRegistry}. */
export interface StartRegistryOptions {
  readonly auth?: 'htpasswd' | 'token';
  /** Accounts for htpasswd/token mode (default: `tester` / `tester-password`). */
  readonly users?: Readonly<Record<string, string>>;
  /** Token mode: which actions each account gets (default: anonymous pull, users everything). */
  readonly tokenPolicy?: TokenPolicy;
  /** How long to wait for `/v2/` to answer (default 20 s). */
  readonly readyTimeoutMs?: number;
  /** Path of the registry binary (default `/usr/bin/docker-registry`). */
  readonly binary?: string;
}

/** A running registry. */
export interface RunningRegistry {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly users: Readonly<Record<string, string>>;
  readonly storageDir: string;
  /** Present in token mode. */
  readonly tokenIssuer?: TokenIssuer;
  /** Registry stdout/stderr so far (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

export { freePort };

async function waitReady(
  url: string,
  child: ChildProcess,
  timeoutMs: number,
  logs: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`docker-registry exited with ${child.exitCode} before answering:\n${logs()}`);
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer ${url}/v2/ within ${timeoutMs} ms:\n${logs()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Starts a registry and waits until `/v2/` answers. Always pair with `stop()`. */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'oci-registry-'));
  const storageDir = join(dir, 'data');
  const users = options.users ?? { tester: 'tester-password' };
  let tokenIssuer: TokenIssuer | undefined;
  let child: ChildProcess | undefined;
  try {
    let auth: object | undefined;
    if (options.auth === 'htpasswd') {
      const lines: string[] = [];
      for (const [user, password] of Object.entries(users)) {
        const { stdout } = await run('htpasswd', ['-Bbn', user, password]);
        lines.push(stdout.trim());
      }
      const htpasswdPath = join(dir, 'htpasswd');
      await writeFile(htpasswdPath, `${lines.join('\n')}\n`);
      auth = { htpasswd: { realm: 'image-factory-test', path: htpasswdPath } };
    } else if (options.auth === 'token') {
      tokenIssuer = await startTokenIssuer({
        dir,
        users,
        ...(options.tokenPolicy ? { policy: options.tokenPolicy } : {}),
      });
      auth = {
        token: {
          realm: tokenIssuer.realm,
          service: tokenIssuer.service,
          issuer: tokenIssuer.issuer,
          rootcertbundle: tokenIssuer.certPath,
        },
      };
    }
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    // JSON is valid YAML, and distribution parses its config as YAML.
    const config = {
      version: '0.1',
      log: { level: 'warn', accesslog: { disabled: true } },
      storage: {
        filesystem: { rootdirectory: storageDir },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: {
        addr: host,
        secret: 'image-factory-test-secret',
        headers: { 'X-Content-Type-Options': ['nosniff'] },
      },
      ...(auth ? { auth } : {}),
    };
    const configPath = join(dir, 'config.yml');
    await writeFile(configPath, JSON.stringify(config, null, 2));
    let output = '';
    const spawned = spawn(options.binary ?? '/usr/bin/docker-registry', ['serve', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = spawned;
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    spawned.stdout?.on('data', collect);
    spawned.stderr?.on('data', collect);
    const logs = (): string => output;
    const url = `http://${host}`;
    await waitReady(url, spawned, options.readyTimeoutMs ?? 20_000, logs);
    const issuer = tokenIssuer;
    return {
      host,
      url,
      users,
      storageDir,
      ...(issuer ? { tokenIssuer: issuer } : {}),
      logs,
      stop: async () => {
        await stopChild(spawned);
        await issuer?.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    if (child) await stopChild(child);
    await tokenIssuer?.stop();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
