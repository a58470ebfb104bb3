/**
 * Running external programs for builders: argv (never a shell), stdin/stdout piping, the tail of
 * stderr kept for the error message, AbortSignal support, and one failure shape:
 * `FactoryError('BUILD_FAILED', '<step>: <tool> exited <code>: <stderr tail>')`.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FactoryError } from '../../errors.js';
import { reportBuildStep } from '../../util/build-progress.js';

/** How much of stderr is kept for error messages. */
const STDERR_TAIL_BYTES = 2048;

/** Options every tool wrapper accepts. */
export interface ToolOptions {
  /** What the build was doing, e.g. `initramfs: squash extension 0`; starts every error message. */
  step: string;
  signal?: AbortSignal;
  /** Program to run instead of the default name (a full path, or a stand-in in tests). */
  command?: string;
}

/** Options for {@link spawnTool}. */
export interface SpawnOptions extends ToolOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** A running program with piped stdin/stdout. */
export interface RunningTool {
  stdin: Writable;
  stdout: Readable;
  /** Resolves when the program exits 0 (or after {@link RunningTool.stop}); rejects with BUILD_FAILED otherwise. */
  done: Promise<void>;
  /** Ends the program early on purpose (e.g. a decompressor whose output is no longer needed). */
  stop(): void;
}

/** Starts `command args` with stdin/stdout as pipes and stderr captured. */
export function spawnTool(command: string, args: readonly string[], options: SpawnOptions): RunningTool {
  const { step, signal } = options;
  reportBuildStep(step, signal);
  const name = basename(command);
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let tail = Buffer.alloc(0);
  let stopped = false;
  child.stderr.on('data', (chunk: Buffer) => {
    tail = Buffer.concat([tail, chunk]);
    if (tail.length > STDERR_TAIL_BYTES) tail = tail.subarray(tail.length - STDERR_TAIL_BYTES);
  });
  // A program that exits early closes its stdin; its exit status carries the real failure.
  child.stdin.on('error', () => undefined);
  const onAbort = (): void => {
    child.kill('SIGKILL');
  };
  if (signal?.aborted) queueMicrotask(onAbort);
  else signal?.addEventListener('abort', onAbort, { once: true });

  const done = new Promise<void>((resolve, reject) => {
    let settled = false;
    child.on('error', (e) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      reject(
        new FactoryError('BUILD_FAILED', `${step}: ${name} could not be started: ${e.message}`, { cause: e }),
      );
    });
    child.on('close', (code, sig) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) {
        reject(abortError(signal, step));
      } else if (stopped || code === 0) {
        resolve();
      } else {
        const how = code === null ? `was killed by ${sig ?? 'a signal'}` : `exited ${code}`;
        const text = tail.toString('utf8').trim();
        // A tool that ran out of disk says so on stderr: the same 507 as the factory's own writes.
        const full = /No space left on device|Disk quota exceeded/i.test(text);
        reject(
          new FactoryError(
            full ? 'STORAGE_FULL' : 'BUILD_FAILED',
            `${step}: ${name} ${how}${full ? ': cache storage is full' : text === '' ? '' : `: ${text}`}`,
          ),
        );
      }
    });
  });
  return {
    stdin: child.stdin,
    stdout: child.stdout,
    done,
    stop: () => {
      stopped = true;
      child.kill('SIGTERM');
    },
  };
}

/**
 * The tool's stdout as an async iterable; when the consumer stops early the tool is stopped
 * first (so the broken pipe that follows is not reported as a failure).
 */
export async function* toolOutput(tool: RunningTool): AsyncGenerator<Buffer> {
  const it = (tool.stdout as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let ended = false;
  try {
    for (;;) {
      const next = await it.next();
      if (next.done === true) {
        ended = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!ended) tool.stop();
    await it.return?.();
  }
}

/** Where a tool's stdout goes. */
export type StdoutTarget = 'ignore' | 'capture' | { path: string; append?: boolean } | Writable;

/** Options for {@link runTool}. */
export interface RunOptions extends SpawnOptions {
  /** Bytes (or a file) fed to stdin; stdin is closed empty otherwise. */
  stdin?: Buffer | { path: string };
  /** Default `ignore` (drained). */
  stdout?: StdoutTarget;
}

/** Runs a program to completion; returns captured stdout (empty unless `stdout: 'capture'`). */
export async function runTool(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<Buffer> {
  const tool = spawnTool(command, args, options);
  const captured: Buffer[] = [];
  const feed = (async (): Promise<void> => {
    const input = options.stdin;
    if (input === undefined) tool.stdin.end();
    else if (Buffer.isBuffer(input)) tool.stdin.end(input);
    else await pipeline(createReadStream(input.path), tool.stdin).catch(() => undefined);
  })();
  const target = options.stdout ?? 'ignore';
  const drain = (async (): Promise<void> => {
    if (target === 'ignore') tool.stdout.resume();
    else if (target === 'capture') for await (const chunk of tool.stdout) captured.push(chunk as Buffer);
    else if (isWritable(target)) await pipeline(tool.stdout, target);
    else
      await pipeline(
        tool.stdout,
        createWriteStream(target.path, { flags: target.append === true ? 'a' : 'w' }),
      );
  })();
  // Wait for all three so no rejection is left unobserved; the exit status wins over pipe errors.
  const [exit, , output] = await Promise.allSettled([tool.done, feed, drain]);
  if (exit.status === 'rejected') throw exit.reason;
  if (output.status === 'rejected') {
    throw new FactoryError(
      'BUILD_FAILED',
      `${options.step}: writing ${basename(command)} output failed: ${errorText(output.reason)}`,
      {
        cause: output.reason,
      },
    );
  }
  return Buffer.concat(captured);
}

/** The error to report when a build step is aborted: the signal's reason if it is an Error. */
export function abortError(signal: AbortSignal, step: string): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason;
  return new FactoryError('BUILD_FAILED', `${step}: aborted`, { cause: reason });
}

/** Throws the abort error when `signal` has fired; called between build steps. */
export function throwIfAborted(signal: AbortSignal | undefined, step: string): void {
  if (signal?.aborted) throw abortError(signal, step);
}

function isWritable(t: Writable | { path: string }): t is Writable {
  return typeof (t as Partial<Writable>).write === 'function';
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
