// Builds the Fastify instance: plugins, one error handler, routes. It does not listen.

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import type { Engine } from '../engine/engine.js';
import type { Metrics } from '../metrics.js';
import { sendError } from './errors.js';
import { admit } from './admission.js';
import { adminRoutes } from './routes/admin.js';
import { couponRoutes } from './routes/coupons.js';
import { operationRoutes } from './routes/operations.js';
import { orderRoutes } from './routes/orders.js';
import { productRoutes } from './routes/products.js';
import { userRoutes } from './routes/users.js';

export interface AppOptions {
  readonly engine: Engine;
  readonly metrics: Metrics;
  readonly adminToken: string | undefined;
  readonly logLevel?: string;
  /** Where log lines go; stdout unless given (tests read them). */
  readonly logStream?: NodeJS.WritableStream;
}

// Bodies are JSON: a string where a number belongs is an error, not something to coerce.
// Query strings and paths are text, so their numbers are coerced.
const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
const lenient = new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });

export async function buildApp({ engine, metrics, adminToken, logLevel = 'info', logStream }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: logLevel,
      redact: ['req.headers.authorization', 'req.headers["idempotency-key"]'],
      ...(logStream ? { stream: logStream } : {}),
    },
    bodyLimit: 64 * 1024,
    // The router's own errors (a malformed escape in the path, a parameter over 100 characters)
    // bypass the error handler: answer them in the contract's shape too, without echoing the URL.
    frameworkErrors: (error, _request, reply) =>
      sendError(reply, 'BAD_REQUEST', error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is longer than 100 characters' : 'the URL is not valid'),
    requestIdHeader: 'x-request-id',
    // Requests arriving while the app closes are refused by admission, in the contract's shape.
    return503OnClosing: false,
    // A line per request costs more CPU than the request itself at benchmark rates; debug turns them on.
    logController: new LogController({ disableRequestLogging: logLevel !== 'debug' && logLevel !== 'trace' }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : lenient).compile(schema));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) return sendError(reply, 'BAD_REQUEST', `${error.validationContext ?? 'request'} ${error.message}`.slice(0, 500));
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) return sendError(reply, 'MALFORMED_JSON', 'the body is not valid JSON');
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, 'PAYLOAD_TOO_LARGE', 'the body is larger than 64 KiB');
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendError(reply, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
    if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return sendError(reply, 'MALFORMED_JSON', 'the body is empty');
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, 'BAD_REQUEST', error.message.slice(0, 500));
    }
    request.log.error({ err: error }, 'request failed');
    return sendError(reply, 'INTERNAL', 'internal error');
  });
  admit(app, engine.config.http.maxInFlight, metrics);
  app.setNotFoundHandler((request, reply) => sendError(reply, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200)}`));

  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Order engine', version: '0.1.0', description: 'Actor-model order processing: users, products, orders and the payment saga' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(userRoutes(engine));
  await app.register(productRoutes(engine));
  await app.register(orderRoutes(engine));
  await app.register(couponRoutes(engine));
  await app.register(operationRoutes(engine, metrics));
  await app.register(adminRoutes(engine, adminToken));
  return app;
}
