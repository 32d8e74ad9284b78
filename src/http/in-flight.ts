// Caps the HTTP requests in flight: beyond the cap a request is answered 503 OVERLOADED at once instead of queueing without end.

import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';
import { sendError } from './errors.js';

/** Operators need these most when the engine is overloaded; they are cheap and never queue. */
const EXEMPT = new Set(['/health/live', '/health/ready', '/metrics']);

/**
 * Counts a request from its first hook until its response closes (sent, or the client went
 * away), so a request that waits on an actor counts for as long as it holds memory.
 *
 * ```ts
 * limitInFlight(app, 4096, metrics);
 * ```
 */
export function limitInFlight(app: FastifyInstance, max: number, metrics: Metrics): void {
  let inFlight = 0;
  app.addHook('onRequest', async (request, reply) => {
    if (EXEMPT.has(request.routeOptions.url ?? '')) return undefined;
    if (inFlight >= max) return sendError(reply, 'OVERLOADED', `${inFlight} requests in flight, the most this engine takes; try again shortly`);
    inFlight++;
    metrics.httpInFlight.set(inFlight);
    reply.raw.once('close', () => {
      inFlight--;
      metrics.httpInFlight.set(inFlight);
    });
    return undefined;
  });
}
