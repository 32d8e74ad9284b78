// x-request-id: the caller's id when it is a sane one, a fresh one otherwise, echoed on every response so both sides log the same id.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import fp from 'fastify-plugin';

/** Printable ASCII without spaces, at most 128 characters: safe to log and to send back. */
const SANE = /^[\x21-\x7e]{1,128}$/;

/** Fastify's `genReqId`: the caller's `x-request-id` if it is sane, else a UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && SANE.test(given) ? given : randomUUID();
}

/**
 * ```ts
 * const app = Fastify({ requestIdHeader: false, genReqId: requestIdOf });
 * await app.register(requestIdPlugin);
 * ```
 */
export const requestIdPlugin = fp(
  async (app) => {
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id);
      done();
    });
  },
  { name: 'request-id' },
);
