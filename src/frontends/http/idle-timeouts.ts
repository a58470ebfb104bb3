/**
 * Idle timeouts per phase of a request, on the connection's socket: while the body arrives (a
 * client that stops sending gets `408` and the connection closed), none while the handler works
 * (a build may take minutes), and while the response goes out (a client that stops reading is
 * cut). Keep-alive gaps between requests are Node's `keepAliveTimeout`.
 */
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FactoryError } from '../../errors.js';

/** Idle limits, milliseconds (0 = none). */
export interface IdleTimeouts {
  bodyIdleMs: number;
  responseIdleMs: number;
}

function socketOf(request: FastifyRequest): Socket | undefined {
  const s = request.raw.socket as Socket | undefined;
  // In-process inject() requests have a stand-in socket without timers.
  return s && typeof s.setTimeout === 'function' ? s : undefined;
}

function hasBody(request: FastifyRequest): boolean {
  const h = request.headers;
  return (
    h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0')
  );
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** Registers the idle-timeout hooks on `app`. */
export function registerIdleTimeouts(app: FastifyInstance, limits: IdleTimeouts): void {
  app.addHook('onRequest', async (request, reply) => {
    const socket = socketOf(request);
    if (!socket || limits.bodyIdleMs === 0 || !hasBody(request)) return;
    socket.setTimeout(limits.bodyIdleMs);
    // Node emits `timeout` on a request whose body is incomplete; the body reader takes the
    // error as a failed read and the error hook answers 408.
    request.raw.once('timeout', () => {
      reply.header('Connection', 'close');
      request.raw.emit(
        'error',
        new FactoryError(
          'REQUEST_TIMEOUT',
          `request body timeout: nothing received for ${formatMs(limits.bodyIdleMs)}`,
        ),
      );
    });
  });
  app.addHook('preHandler', async (request) => {
    socketOf(request)?.setTimeout(0); // the body is in; the handler may wait for a long build
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    const socket = socketOf(request);
    // Node destroys a socket whose timeout nobody handles: exactly what a stalled reader gets.
    if (socket && limits.responseIdleMs > 0) socket.setTimeout(limits.responseIdleMs);
    return payload;
  });
}
