/** An AbortSignal that fires when the client of a request goes away. */
import type { FastifyReply } from 'fastify';
import { FactoryError } from '../../errors.js';

/**
 * Aborts when the response closes before it finished (the connection went away). The listener
 * sits on the per-request ServerResponse, not on the socket: keep-alive sockets carry many
 * requests, and a socket listener per request would pile up for the connection's lifetime.
 */
export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  const res = reply.raw;
  if (res.destroyed && !res.writableFinished)
    ac.abort(new FactoryError('CLIENT_GONE', 'client closed the request'));
  else {
    res.once('close', () => {
      if (!res.writableFinished) ac.abort(new FactoryError('CLIENT_GONE', 'client closed the request'));
    });
  }
  return ac.signal;
}
