// The finishing pass over the OpenAPI document @fastify/swagger builds from the routes: named component schemas, every answer a route can give, its headers, error media type.

/** The 409 codes each operation can answer, as an enum in its 409 schema. */
const CONFLICTS: Record<string, readonly string[]> = {
  createUser: ['IDEMPOTENCY_KEY_IN_PROGRESS'],
  createProduct: ['IDEMPOTENCY_KEY_IN_PROGRESS'],
  createCoupon: ['IDEMPOTENCY_KEY_IN_PROGRESS'],
  createOrder: ['COUPON_NOT_HELD', 'COUPON_ALREADY_USED', 'COUPON_EXPIRED', 'COUPON_NOT_YET_VALID', 'IDEMPOTENCY_KEY_IN_PROGRESS'],
  chargePoints: ['POINTS_LIMIT_EXCEEDED', 'IDEMPOTENCY_KEY_IN_PROGRESS'],
  restockProduct: ['STOCK_LIMIT_EXCEEDED', 'IDEMPOTENCY_KEY_IN_PROGRESS'],
  payOrder: [
    'ORDER_NOT_PAYABLE',
    'INSUFFICIENT_STOCK',
    'INSUFFICIENT_POINTS',
    'RESERVATION_RELEASED',
    'COUPON_NOT_HELD',
    'COUPON_ALREADY_USED',
    'COUPON_EXPIRED',
    'COUPON_NOT_YET_VALID',
    'IDEMPOTENCY_KEY_IN_PROGRESS',
  ],
  cancelOrder: ['ORDER_NOT_CANCELLABLE', 'IDEMPOTENCY_KEY_IN_PROGRESS'],
  issueCoupon: ['COUPON_SOLD_OUT', 'COUPON_ALREADY_ISSUED', 'COUPON_CLAIM_IN_PROGRESS', 'COUPON_EXPIRED', 'COUPON_NOT_YET_VALID', 'IDEMPOTENCY_KEY_IN_PROGRESS'],
  passivateActor: ['ACTOR_BUSY'],
  retryDeadLetter: ['SINK_NOT_CONFIGURED'],
};

const DESCRIPTIONS: Record<string, string> = {
  200: 'the answer',
  201: 'created',
  302: 'moved',
  400: 'bad input: each bad field named in `errors`',
  401: 'no bearer token, or a wrong one',
  403: 'the admin API is off (ADMIN_TOKEN unset)',
  404: 'no such id (or route)',
  409: 'a business conflict; `error` says which',
  413: 'the body is larger than 64 KiB',
  415: 'the body is not application/json',
  422: 'the Idempotency-Key was used for another request',
  429: "the actor's mailbox is full; try again after Retry-After",
  502: 'the outbox sink refused the delivery',
  503: 'overloaded, shutting down, or the database does not answer; try again after Retry-After',
};

type Json = Record<string, unknown>;
type Operation = {
  operationId?: string;
  parameters?: Array<{ in: string; name: string; description?: string }>;
  requestBody?: unknown;
  responses: Record<string, { description?: string; content?: Record<string, { schema?: unknown }>; headers?: Json }>;
};

const PROBLEM = 'application/problem+json';
const problemRef = { $ref: '#/components/schemas/Problem' };
const header = (description: string, schema: Json = { type: 'string' }) => ({ description, schema });
const retryAfter = header('seconds to wait before trying again', { type: 'integer' });

/**
 * Replaces every schema with a `title` by a reference to `components.schemas[title]`, inner ones
 * first, so that generated clients get named types (User, Order, Problem, UserPage…).
 */
function hoist(node: unknown, schemas: Record<string, unknown>): unknown {
  if (Array.isArray(node)) return node.map((n) => hoist(n, schemas));
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) out[k] = hoist(v, schemas);
  const title = out.title;
  if (typeof title !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(title)) return out;
  schemas[title] ??= out;
  return { $ref: `#/components/schemas/${title}` };
}

function finishOperation(method: string, path: string, op: Operation): void {
  const { responses } = op;
  const add = (status: number, response: (typeof responses)[string]) => (responses[status] ??= response);
  const problem = (status: number) => ({ description: DESCRIPTIONS[status] ?? 'an error', content: { [PROBLEM]: { schema: problemRef } } });

  if (op.requestBody) {
    add(400, problem(400));
    add(413, problem(413));
    add(415, problem(415));
  }
  const keyed = op.parameters?.find((p) => p.in === 'header' && p.name === 'idempotency-key');
  if (keyed) {
    keyed.description = 'makes the request safe to repeat: a repeat within the retention gets the first answer (see docs/http.md)';
    add(409, problem(409));
    add(422, problem(422));
  }
  if (!path.startsWith('/health') && path !== '/metrics') add(503, problem(503));
  if (method === 'post' && !path.startsWith('/admin')) add(429, problem(429));

  for (const [status, response] of Object.entries(responses)) {
    const code = Number(status);
    // An error's own description would be the Problem schema's, the same for every status.
    if (!response.description || response.description === 'Default Response' || code >= 400) response.description = DESCRIPTIONS[status] ?? response.description ?? 'the answer';
    if (code >= 400 && response.content?.['application/json']) {
      response.content = { [PROBLEM]: response.content['application/json']! };
    }
    if (code === 201) response.headers = { ...response.headers, Location: header('where the created resource is read') };
    if (keyed && code < 300) response.headers = { ...response.headers, 'Idempotent-Replayed': header('"true" on an answer replayed for a repeated Idempotency-Key') };
    if (code === 429 || code === 503) response.headers = { ...response.headers, 'Retry-After': retryAfter };
    if (code === 409 && op.operationId && CONFLICTS[op.operationId]) {
      response.content = { [PROBLEM]: { schema: { allOf: [problemRef, { type: 'object', properties: { error: { type: 'string', enum: CONFLICTS[op.operationId] } } }] } } };
    }
  }
  if (path === '/metrics') responses['200'] = { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } };
  if (path === '/admin/ui') responses['200'] = { description: 'the admin page', content: { 'text/html': { schema: { type: 'string' } } } };
}

/**
 * @fastify/swagger's `transformObject`: the document as generated, finished.
 *
 * ```ts
 * await app.register(swagger, { openapi: { … }, transformObject: ({ openapiObject }) => finishDocument(openapiObject) });
 * ```
 */
export function finishDocument<D extends { paths?: unknown; components?: unknown }>(doc: D): D {
  const components = (doc.components ?? {}) as Json & { schemas?: Record<string, unknown> };
  const schemas: Record<string, unknown> = { ...components.schemas };
  const paths = hoist(doc.paths ?? {}, schemas) as Record<string, Record<string, Operation>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) finishOperation(method, path, op);
  }
  return { ...doc, paths, components: { ...components, schemas } };
}
