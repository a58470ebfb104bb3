/** Messages between the schematic parse pool and its workers. */
import type { ErrorCode } from '../errors.js';
import type { Schematic } from './types.js';

/** A job: parse a request body (`create`) or a stored canonical document (`parse`). */
export type ParseJob =
  | { readonly id: number; readonly op: 'create'; readonly body: Uint8Array }
  | { readonly id: number; readonly op: 'parse'; readonly text: string };

/** A worker's answer to one job. */
export type ParseReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly schematic: Schematic;
      readonly canonical?: string;
      readonly schematicId?: string;
    }
  | { readonly id: number; readonly ok: false; readonly code: ErrorCode; readonly message: string };

/** Anything a worker posts: answers, and once at start-up `{ ready: true }`. */
export type WorkerMessage = ParseReply | { readonly ready: true };
