/**
 * Worker-thread entry of the schematic parse pool (`parse-pool.ts`): parses request bodies and
 * stored canonical documents off the event loop. Answers `{ id, ok, … }` per message.
 */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { isFactoryError } from '../errors.js';
import { createSchematic, parseSchematic } from './index.js';
import type { ParseJob, ParseReply, WorkerMessage } from './parse-protocol.js';

// Rejections carry only code and message; stack traces of the many errors a hostile document
// produces inside the YAML library cost most of the time spent on it.
Error.stackTraceLimit = 0;

// Below the event loop: on Linux this lowers only this thread, so parses yield the CPU to the
// thread that answers every other request (lowering one's own priority is always allowed).
try {
  setPriority(5);
} catch {
  // Not supported here: parses then compete with the event loop on equal terms.
}

function answer(job: ParseJob): ParseReply {
  try {
    if (job.op === 'create') {
      const { schematic, canonical, id } = createSchematic(job.body);
      return { id: job.id, ok: true, schematic, canonical, schematicId: id };
    }
    return { id: job.id, ok: true, schematic: parseSchematic(job.text) };
  } catch (e) {
    if (isFactoryError(e)) return { id: job.id, ok: false, code: e.code, message: e.message };
    return { id: job.id, ok: false, code: 'SCHEMATIC_INVALID', message: `yaml: ${String(e)}` };
  }
}

parentPort?.on('message', (job: ParseJob) => parentPort?.postMessage(answer(job)));
// Loaded: jobs may come (a job's deadline never pays for a worker's start).
parentPort?.postMessage({ ready: true } satisfies WorkerMessage);
