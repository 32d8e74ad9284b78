// Every answered request observed in the HTTP duration histogram, by method, route template and status.

import fp from 'fastify-plugin';
import type { Metrics } from '../../metrics.js';

export interface RequestMetricsOptions {
  readonly metrics: Metrics;
}

/** The route template, never the URL, so that ids do not become label values. */
export const requestMetricsPlugin = fp<RequestMetricsOptions>(
  async (app, { metrics }) => {
    app.addHook('onResponse', (request, reply, done) => {
      metrics.httpDuration.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
      done();
    });
  },
  { name: 'request-metrics' },
);
