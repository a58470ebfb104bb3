/** An AbortSignal that fires when the client of a request goes away. */
import type { FastifyRequest } from 'fastify';

/** Aborts when the underlying socket closes before the response finished. */
export function clientGoneSignal(request: FastifyRequest): AbortSignal {
  const ac = new AbortController();
  request.raw.once('close', () => {
    if (!request.raw.complete || !request.raw.socket?.writableEnded) ac.abort(new Error('client went away'));
  });
  request.raw.socket?.once('close', () => ac.abort(new Error('client went away')));
  return ac.signal;
}
