// The baseline server: the engine's HTTP contract subset the scenarios use, on plain tables; BASELINE_MODE picks locks or sql.

import Fastify, { type FastifyReply } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { openMysql } from './mysql-store.js';
import { openPostgres } from './postgres-store.js';
import { tracked, type ErrorCode, type Mode, type Outcome } from './store.js';

const STATUS: Record<ErrorCode, number> = {
  NOT_FOUND: 404,
  INVALID_ORDER: 400,
  INSUFFICIENT_STOCK: 409,
  INSUFFICIENT_POINTS: 409,
  ORDER_NOT_PAYABLE: 409,
};

const id = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;
const name = { type: 'string', minLength: 1, maxLength: 200 } as const;
const amount = { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 } as const;
const idParams = { type: 'object', properties: { id }, required: ['id'] } as const;

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

function sendError(reply: FastifyReply, error: ErrorCode | 'BAD_REQUEST', message: string, productId?: string): FastifyReply {
  const status = error === 'BAD_REQUEST' ? 400 : STATUS[error];
  return reply.code(status).send({ error, message, ...(productId ? { productId } : {}) });
}

function sendOutcome<T>(reply: FastifyReply, outcome: Outcome<T>, okStatus: number): FastifyReply {
  return outcome.ok ? reply.code(okStatus).send(outcome.value) : sendError(reply, outcome.error, outcome.message, outcome.productId);
}

app.setErrorHandler((error: { validation?: unknown; statusCode?: number; message: string }, _request, reply) => {
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

app.post<{ Body: { name: string; price: number; stock: number } }>(
  '/products',
  {
    schema: {
      body: { type: 'object', properties: { name, price: amount, stock: amount }, required: ['name', 'price', 'stock'], additionalProperties: false },
    },
  },
  async (request, reply) => reply.code(201).send(await store.createProduct(uuidv7(), request.body.name, request.body.price, request.body.stock)),
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

app.get<{ Params: { id: string } }>('/orders/:id', { schema: { params: idParams } }, async (request, reply) => {
  const order = await store.getOrder(request.params.id);
  return order ? order : sendError(reply, 'NOT_FOUND', `order ${request.params.id} not found`);
});

app.post<{ Params: { id: string } }>('/orders/:id/pay', { schema: { params: idParams } }, async (request, reply) =>
  sendOutcome(reply, await store.payOrder(request.params.id, Date.now()), 200),
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
