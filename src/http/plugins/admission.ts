// Admission: a request is refused at once (503) while the engine shuts down or when too many are in flight, instead of queueing without end.

import fp from 'fastify-plugin';
import type { Metrics } from '../../metrics.js';
import { sendError } from '../errors.js';

export interface AdmissionOptions {
  readonly maxInFlight: number;
  readonly metrics: Metrics;
}

/** Operators need these most when the engine is overloaded; they are cheap and never queue. */
const EXEMPT = new Set(['/health/live', '/health/ready', '/metrics']);
/** While closing, keep-alive connections are closed this often once their request is answered. */
const REAP_MS = 50;

/**
 * From the first hook of a request until its response closes (sent, or the client went away) it
 * counts as in flight, so a request that waits on an actor counts for as long as it holds memory.
 * Once `app.close()` begins, every new request (health included, so balancers move away) gets 503
 * SHUTTING_DOWN with `Connection: close`, while those in flight finish.
 *
 * ```ts
 * await app.register(admissionPlugin, { maxInFlight: 4096, metrics });
 * ```
 */
export const admissionPlugin = fp<AdmissionOptions>(
  async (app, { maxInFlight, metrics }) => {
    let inFlight = 0;
    let closing = false;
    let reaper: NodeJS.Timeout | undefined;
    app.addHook('preClose', async () => {
      closing = true;
      // The server closes the connections that are idle when it starts closing, not those whose
      // request was in flight then and that go idle later: they would hold close() for the
      // keep-alive timeout.
      reaper = setInterval(() => app.server.closeIdleConnections(), REAP_MS);
    });
    app.addHook('onClose', async () => {
      clearInterval(reaper);
    });
    // A refused request is answered here and goes no further: `done` is not called.
    app.addHook('onRequest', (request, reply, done) => {
      if (closing) {
        reply.header('connection', 'close');
        sendError(reply, 'SHUTTING_DOWN', 'the engine is shutting down; try again shortly');
        return;
      }
      if (EXEMPT.has(request.routeOptions.url ?? '')) return done();
      if (inFlight >= maxInFlight) {
        sendError(reply, 'OVERLOADED', `${inFlight} requests in flight, the most this engine takes; try again shortly`);
        return;
      }
      inFlight++;
      metrics.httpInFlight.set(inFlight);
      reply.raw.once('close', () => {
        inFlight--;
        metrics.httpInFlight.set(inFlight);
      });
      done();
    });
  },
  { name: 'admission' },
);
