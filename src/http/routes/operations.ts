// Liveness, readiness (the database and start-up recovery; the outbox sinks are shown, not required) and Prometheus metrics.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Engine } from '../../engine/engine.js';
import type { Metrics } from '../../metrics.js';
import { sendError } from '../errors.js';

const Ready = Type.Object({
  status: Type.String(),
  outbox: Type.Array(
    Type.Object({ sink: Type.String(), connection: Type.String(), breaker: Type.String(), lagSeconds: Type.Number(), caughtUp: Type.Boolean() }),
    { description: 'each outbox sink; a sink that is down does not make the engine unready, payments go on' },
  ),
});

export const operationRoutes =
  (engine: Engine, metrics: Metrics): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/health/live', { schema: { tags: ['operations'], operationId: 'getLiveness', summary: 'The process answers' } }, async () => ({ status: 'ok' }));

    app.get(
      '/health/ready',
      { schema: { tags: ['operations'], operationId: 'getReadiness', summary: 'The database answers and start-up recovery is done', response: { 200: Ready } } },
      async (_request, reply) => {
        const { database, recovering, outbox, nats } = await engine.ready();
        if (!database) return sendError(reply, 'NOT_READY', 'the database does not answer');
        if (nats === false) return sendError(reply, 'NOT_READY', 'NATS does not answer: this cluster member can neither keep its shards nor reach the others');
        if (recovering) return sendError(reply, 'NOT_READY', 'recovery is still running');
        return { status: 'ready', outbox };
      },
    );

    app.get('/metrics', { schema: { tags: ['operations'], operationId: 'getMetrics', summary: 'Prometheus text format' } }, async (_request, reply) => {
      engine.collectGauges();
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  };
