// The baseline server: the engine's HTTP contract subset the scenarios use, on plain tables; BASELINE_MODE picks locks or sql.
// Reads go straight to the database: there is no cache.

import Fastify, { type FastifyReply } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { openMysql } from './mysql-store.js';
import { openPostgres } from './postgres-store.js';
import { BadCursorError, DAY_MS, idCursor, sinceDays, timeCursor, tracked, type ErrorCode, type Mode, type Outcome } from './store.js';

const STATUS: Record<ErrorCode, number> = {
  NOT_FOUND: 404,
  INVALID_ORDER: 400,
  INSUFFICIENT_STOCK: 409,
  INSUFFICIENT_POINTS: 409,
  ORDER_NOT_PAYABLE: 409,
  COUPON_SOLD_OUT: 409,
  COUPON_ALREADY_ISSUED: 409,
};

const id = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;
const name = { type: 'string', minLength: 1, maxLength: 200 } as const;
const amount = { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 } as const;
const idParams = { type: 'object', properties: { id }, required: ['id'] } as const;
const cursor = { type: 'string', maxLength: 200 } as const;
const limit = { type: 'integer', minimum: 1, maximum: 100, default: 20 } as const;
const pageQuery = { type: 'object', properties: { cursor, limit }, additionalProperties: false } as const;
const listQuery = { type: 'object', properties: { cursor, limit, name: { type: 'string', maxLength: 200 } }, additionalProperties: false } as const;
const STATUSES = ['CREATED', 'PAYING', 'PAID', 'FAILED', 'CANCELLED', 'EXPIRED'];
const MAX_IDS = 100;
const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** An ISO 8601 instant as epoch ms; `undefined` in, `null` out; NaN when it does not parse (as the engine reads them). */
function instant(text: string | undefined): number | null {
  if (text === undefined) return null;
  return /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) ? Date.parse(text) : Number.NaN;
}

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
}

const mode = env('BASELINE_MODE') as Mode;
if (mode !== 'locks' && mode !== 'sql') throw new Error(`BASELINE_MODE must be locks or sql, got ${mode}`);
const databaseUrl = env('DATABASE_URL');
// A Spring service would run a Hikari pool of about this size; BASELINE_POOL changes it.
const poolSize = Number(env('BASELINE_POOL', '16'));

const store = tracked(
  /^(mysql|mariadb):/.test(databaseUrl) ? await openMysql(databaseUrl, mode, poolSize) : await openPostgres(databaseUrl, mode, poolSize),
);

const app = Fastify({ logger: { level: env('LOG_LEVEL', 'warn') } });

function sendError(reply: FastifyReply, error: ErrorCode | 'BAD_REQUEST' | 'BAD_CURSOR', message: string, productId?: string): FastifyReply {
  const status = error === 'BAD_REQUEST' || error === 'BAD_CURSOR' ? 400 : STATUS[error];
  return reply.code(status).send({ error, message, ...(productId ? { productId } : {}) });
}

function sendOutcome<T>(reply: FastifyReply, outcome: Outcome<T>, okStatus: number): FastifyReply {
  return outcome.ok ? reply.code(okStatus).send(outcome.value) : sendError(reply, outcome.error, outcome.message, outcome.productId);
}

app.setErrorHandler((error: { validation?: unknown; statusCode?: number; message: string }, _request, reply) => {
  if (error instanceof BadCursorError) return sendError(reply, 'BAD_CURSOR', error.message);
  if (error.validation || error.statusCode === 400) return sendError(reply, 'BAD_REQUEST', error.message);
  app.log.error(error);
  return reply.code(500).send({ error: 'INTERNAL', message: error.message });
});

app.get('/health/live', async () => ({ status: 'ok' }));
app.get('/health/ready', async (_request, reply) => {
  const database = await store.ping();
  return reply.code(database ? 200 : 503).send({ status: database ? 'ok' : 'unavailable', database });
});

app.post<{ Body: { name: string; points?: number } }>(
  '/users',
  { schema: { body: { type: 'object', properties: { name, points: amount }, required: ['name'], additionalProperties: false } } },
  async (request, reply) => reply.code(201).send(await store.createUser(uuidv7(), request.body.name, request.body.points ?? 0)),
);

app.get<{ Params: { id: string } }>('/users/:id', { schema: { params: idParams } }, async (request, reply) => {
  const user = await store.getUser(request.params.id);
  return user ? user : sendError(reply, 'NOT_FOUND', `user ${request.params.id} not found`);
});

app.get<{ Querystring: { cursor?: string; limit: number; name?: string } }>('/users', { schema: { querystring: listQuery } }, async (request) => {
  const { cursor, limit, name } = request.query;
  return store.listUsers({ limit, after: idCursor(cursor), ...(name === undefined ? {} : { name }) });
});

app.get<{ Params: { id: string }; Querystring: { cursor?: string; limit: number } }>(
  '/users/:id/orders',
  { schema: { params: idParams, querystring: pageQuery } },
  async (request) => store.userOrders({ userId: request.params.id, limit: request.query.limit, after: timeCursor(request.query.cursor) }),
);

app.get<{ Params: { id: string }; Querystring: { cursor?: string; limit: number } }>(
  '/users/:id/coupons',
  { schema: { params: idParams, querystring: pageQuery } },
  async (request, reply) =>
    sendOutcome(reply, await store.userCoupons({ userId: request.params.id, limit: request.query.limit, after: idCursor(request.query.cursor) }), 200),
);

app.post<{ Body: { name: string; price: number; stock: number } }>(
  '/products',
  {
    schema: {
      body: { type: 'object', properties: { name, price: amount, stock: amount }, required: ['name', 'price', 'stock'], additionalProperties: false },
    },
  },
  async (request, reply) => reply.code(201).send(await store.createProduct(uuidv7(), request.body.name, request.body.price, request.body.stock)),
);

app.get<{ Querystring: { cursor?: string; limit: number; name?: string } }>('/products', { schema: { querystring: listQuery } }, async (request) => {
  const { cursor, limit, name } = request.query;
  return store.listProducts({ limit, after: idCursor(cursor), ...(name === undefined ? {} : { name }) });
});

app.get<{ Querystring: { days: number; limit: number } }>(
  '/products/popular',
  {
    schema: {
      querystring: {
        type: 'object',
        properties: { days: { type: 'integer', minimum: 1, maximum: 366, default: 7 }, limit: { type: 'integer', minimum: 1, maximum: 100, default: 10 } },
        additionalProperties: false,
      },
    },
  },
  async (request) => store.popularProducts({ since: sinceDays(request.query.days, Date.now()), limit: request.query.limit }),
);

app.get<{ Params: { id: string } }>('/products/:id', { schema: { params: idParams } }, async (request, reply) => {
  const product = await store.getProduct(request.params.id);
  return product ? product : sendError(reply, 'NOT_FOUND', `product ${request.params.id} not found`);
});

app.post<{ Body: { userId: string; items: { productId: string; quantity: number }[] } }>(
  '/orders',
  {
    schema: {
      body: {
        type: 'object',
        properties: {
          userId: id,
          items: {
            type: 'array',
            minItems: 1,
            maxItems: 100,
            items: {
              type: 'object',
              properties: { productId: id, quantity: { type: 'integer', minimum: 1, maximum: 1_000_000 } },
              required: ['productId', 'quantity'],
              additionalProperties: false,
            },
          },
        },
        required: ['userId', 'items'],
        additionalProperties: false,
      },
    },
  },
  async (request, reply) => {
    const { userId, items } = request.body;
    const seen = new Set<string>();
    for (const item of items) {
      if (seen.has(item.productId)) return sendError(reply, 'INVALID_ORDER', `product ${item.productId} appears twice`, item.productId);
      seen.add(item.productId);
    }
    return sendOutcome(reply, await store.createOrder(uuidv7(), userId, items, Date.now()), 201);
  },
);

app.get<{ Querystring: { cursor?: string; limit: number; ids?: string; status?: string; days?: number } }>(
  '/orders',
  {
    schema: {
      querystring: {
        type: 'object',
        properties: {
          cursor,
          limit,
          ids: { type: 'string', maxLength: MAX_IDS * 65 },
          status: { type: 'string', enum: STATUSES },
          days: { type: 'integer', minimum: 1, maximum: 3650 },
        },
        additionalProperties: false,
      },
    },
  },
  async (request, reply) => {
    const { ids, status, days, cursor: after, limit: count } = request.query;
    if (ids !== undefined) {
      const list = ids.split(',').filter((s) => s.length > 0);
      if (list.length > MAX_IDS) return sendError(reply, 'BAD_REQUEST', `at most ${MAX_IDS} ids, got ${list.length}`);
      const bad = list.find((s) => !ID.test(s));
      if (bad !== undefined) return sendError(reply, 'BAD_REQUEST', `not an order id: ${bad.slice(0, 80)}`);
      return store.ordersByIds([...new Set(list)]);
    }
    if (status === undefined) return sendError(reply, 'BAD_REQUEST', 'give ids=… or status=… (with days=…)');
    return store.ordersByStatus({ status, since: Date.now() - (days ?? 7) * DAY_MS, limit: count, after: timeCursor(after) });
  },
);

app.get<{ Params: { id: string } }>('/orders/:id', { schema: { params: idParams } }, async (request, reply) => {
  const order = await store.getOrder(request.params.id);
  return order ? order : sendError(reply, 'NOT_FOUND', `order ${request.params.id} not found`);
});

app.post<{ Params: { id: string } }>('/orders/:id/pay', { schema: { params: idParams } }, async (request, reply) =>
  sendOutcome(reply, await store.payOrder(request.params.id, Date.now()), 200),
);

app.post<{ Body: { name: string; discountType: 'FIXED' | 'PERCENT'; discountValue: number; quantity: number; validFrom?: string; validUntil?: string } }>(
  '/coupons',
  {
    schema: {
      body: {
        type: 'object',
        properties: {
          name,
          discountType: { type: 'string', enum: ['FIXED', 'PERCENT'] },
          discountValue: { type: 'integer', minimum: 1, maximum: 1_000_000_000_000 },
          quantity: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
          validFrom: { type: 'string', minLength: 10, maxLength: 40 },
          validUntil: { type: 'string', minLength: 10, maxLength: 40 },
        },
        required: ['name', 'discountType', 'discountValue', 'quantity'],
        additionalProperties: false,
      },
    },
  },
  async (request, reply) => {
    const { validFrom, validUntil, ...rest } = request.body;
    const from = instant(validFrom);
    const until = instant(validUntil);
    if (Number.isNaN(from) || Number.isNaN(until)) return sendError(reply, 'BAD_REQUEST', 'validFrom and validUntil are ISO 8601 date-times');
    if (rest.discountType === 'PERCENT' && rest.discountValue > 100) return sendError(reply, 'BAD_REQUEST', 'a percent discount is at most 100');
    return reply.code(201).send(await store.createCoupon(uuidv7(), { ...rest, validFrom: from, validUntil: until }, Date.now()));
  },
);

app.post<{ Params: { id: string }; Body: { userId: string } }>(
  '/coupons/:id/issue',
  { schema: { params: idParams, body: { type: 'object', properties: { userId: id }, required: ['userId'], additionalProperties: false } } },
  async (request, reply) => sendOutcome(reply, await store.issueCoupon(request.params.id, request.body.userId, Date.now()), 201),
);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await app.close();
  await store.idle();
  await store.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());

await app.listen({ port: Number(env('PORT', '3000')), host: env('HOST', '127.0.0.1') });
