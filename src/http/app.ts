// Builds the Fastify instance and registers its plugins in order: the error handler, external ones, the app's own, then routes. It does not listen.

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Engine } from '../engine/engine.js';
import { PastViews } from '../engine/past-views.js';
import type { Metrics } from '../metrics.js';
import type { Tracing } from '../tracing/start-tracing.js';
import { sendError } from './errors.js';
import { admissionPlugin } from './plugins/admission.js';
import { emptyBodiesPlugin } from './plugins/empty-bodies.js';
import { errorHandlerPlugin } from './plugins/error-handler.js';
import { idempotencyPlugin } from './plugins/idempotency.js';
import { isoTimestampsPlugin } from './plugins/iso-timestamps.js';
import type { IdempotencyStore } from './plugins/idempotency-store.js';
import { requestIdOf, requestIdPlugin } from './plugins/request-id.js';
import { requestMetricsPlugin } from './plugins/request-metrics.js';
import { swaggerPlugin } from './plugins/swagger.js';
import { adminRoutes } from './routes/admin.js';
import { adminUiRoutes } from './routes/admin-ui.js';
import { couponRoutes } from './routes/coupons.js';
import { operationRoutes } from './routes/operations.js';
import { orderRoutes } from './routes/orders.js';
import { productRoutes } from './routes/products.js';
import { userRoutes } from './routes/users.js';

export interface AppOptions {
  readonly engine: Engine;
  readonly metrics: Metrics;
  /** Requests in flight beyond this are refused with 503 OVERLOADED. */
  readonly maxInFlight: number;
  /** Unset: the admin API answers 403. */
  readonly adminToken: string | undefined;
  readonly logLevel?: string;
  /** Where log lines go; stdout unless given (tests read them). */
  readonly logStream?: NodeJS.WritableStream;
  /** Where first answers to Idempotency-Key requests are kept. */
  readonly idempotencyStore: IdempotencyStore;
  /** OpenTelemetry, when it is on (`startTracing`). */
  readonly tracing?: Tracing;
}

// Bodies are JSON: a string where a number belongs is an error, not something to coerce.
// Query strings and paths are text, so their numbers are coerced.
// Every bad field is reported, not only the first (bodies are at most 64 KiB and arrays are bounded).
const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: true, strict: false });
const lenient = new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: true, strict: false });

/**
 * ```ts
 * const app = await buildApp({ engine, metrics, maxInFlight: 4096, adminToken: undefined, idempotencyStore });
 * const answer = await app.inject({ method: 'GET', url: '/health/live' });
 * ```
 */
export async function buildApp({ engine, metrics, maxInFlight, adminToken, logLevel = 'info', logStream, idempotencyStore, tracing }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: logLevel,
      redact: ['req.headers.authorization', 'req.headers["idempotency-key"]'],
      ...(logStream ? { stream: logStream } : {}),
    },
    bodyLimit: 64 * 1024,
    // The router's own errors (a malformed escape in the path, a parameter over 100 characters)
    // bypass the error handler: answer them in the contract's shape too, without echoing the URL.
    frameworkErrors: (error, request, reply) =>
      sendError(
        reply,
        'BAD_REQUEST',
        error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is longer than 100 characters' : 'the URL is not valid',
        {},
        `urn:order-engine:request:${request.id}`,
      ),
    // The caller's x-request-id when sane (requestIdOf), echoed by requestIdPlugin.
    requestIdHeader: false,
    genReqId: requestIdOf,
    // Requests arriving while the app closes are refused by admission, in the contract's shape.
    return503OnClosing: false,
    // A line per request costs more CPU than the request itself at benchmark rates; debug turns them on.
    logController: new LogController({ disableRequestLogging: logLevel !== 'debug' && logLevel !== 'trace' }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON only: a body of any other media type is 415, not a string for the schema to refuse.
  app.removeContentTypeParser('text/plain');

  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : lenient).compile(schema));

  // A route keeps the error handler that was set when it was added: this one goes first, so that
  // the docs' routes answer errors in the contract's shape too.
  await app.register(errorHandlerPlugin);
  // Before every route and hook it traces.
  if (tracing) await app.register(tracing.plugin);
  await app.register(requestIdPlugin);
  await app.register(emptyBodiesPlugin);
  await app.register(isoTimestampsPlugin);

  await app.register(swaggerPlugin);

  await app.register(admissionPlugin, { maxInFlight, metrics });
  await app.register(requestMetricsPlugin, { metrics });
  await app.register(idempotencyPlugin, { store: idempotencyStore });

  const past = new PastViews(engine.database.db);
  await app.register(named('users', userRoutes(engine, past)));
  await app.register(named('products', productRoutes(engine, past)));
  await app.register(named('orders', orderRoutes(engine, past)));
  await app.register(named('coupons', couponRoutes(engine, past)));
  await app.register(named('operations', operationRoutes(engine, metrics)));
  await app.register(named('admin', adminRoutes(engine, adminToken, metrics)));
  await app.register(named('admin-ui', adminUiRoutes()));
  return app;
}

/**
 * A route plugin under its resource's name. Fastify names an anonymous plugin by its source
 * text, and the tracing names every hook and handler span after the plugin: a few kilobytes of
 * code in each span's name otherwise.
 */
function named<P extends object>(name: string, plugin: P): P {
  return Object.assign(plugin, { [Symbol.for('fastify.display-name')]: name });
}
