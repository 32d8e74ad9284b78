// Every error answers RFC 9457 problem details (application/problem+json) that keep `error` and `message`; a 400 lists each bad field once, with a JSON pointer and a sentence.

import * as assert from 'uvu/assert';
import { databaseKinds } from '../helpers/databases.js';
import { appSuite, call } from '../helpers/engine.js';

const [pglite] = databaseKinds();
const it = appSuite(pglite!, 'problem details');

const inject = (ctx: { t: { app: import('fastify').FastifyInstance } }, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
  ctx.t.app.inject({
    method: method as 'POST',
    url,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });

const isProblem = (answer: { statusCode: number; headers: Record<string, unknown>; json(): any }, status: number, code: string, instance: string) => {
  assert.is(answer.statusCode, status);
  assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
  const body = answer.json();
  assert.is(body.status, status);
  assert.is(body.error, code);
  assert.is(body.type, `urn:order-engine:problem:${code.toLowerCase().replaceAll('_', '-')}`);
  assert.type(body.title, 'string');
  assert.ok(body.title.length > 0);
  assert.type(body.detail, 'string');
  assert.is(body.message, body.detail);
  assert.is(body.instance, instance);
  return body;
};

it('a 404, a 409 and an unknown route are problem details, with the path as instance', async (ctx) => {
  isProblem(await inject(ctx, 'GET', '/users/nobody?x=1'), 404, 'NOT_FOUND', '/users/nobody');
  isProblem(await inject(ctx, 'GET', '/no/such/route'), 404, 'ROUTE_NOT_FOUND', '/no/such/route');
  const user = (await call(ctx.t.app, 'POST', '/users', { name: 'pd', points: 0 })).body;
  const product = (await call(ctx.t.app, 'POST', '/products', { name: 'pd-p', price: 5, stock: 1 })).body;
  const order = (await call(ctx.t.app, 'POST', '/orders', { userId: user.id, items: [{ productId: product.id, quantity: 1 }] })).body;
  const refused = isProblem(await inject(ctx, 'POST', `/orders/${order.id}/pay`), 409, 'INSUFFICIENT_POINTS', `/orders/${order.id}/pay`);
  assert.match(refused.detail, /has 0 points/);
});

it('a 400 lists every bad field once, with a pointer into the body and a plain sentence', async (ctx) => {
  const answer = await inject(ctx, 'POST', '/orders', { userId: 'u', items: [{ productId: 'p', quantity: 0 }, { quantity: 'a' }], extra: 1 });
  const body = isProblem(answer, 400, 'BAD_REQUEST', '/orders');
  assert.equal(body.errors, [
    { in: 'body', pointer: '#/extra', detail: 'extra is not a field this request takes' },
    { in: 'body', pointer: '#/items/0/quantity', detail: 'items[0].quantity must be at least 1' },
    { in: 'body', pointer: '#/items/1/productId', detail: 'items[1].productId is required' },
    { in: 'body', pointer: '#/items/1/quantity', detail: 'items[1].quantity must be an integer' },
  ]);
  assert.is(body.detail, body.errors.map((e: { detail: string }) => e.detail).join('; '));
});

it('a field that must be one of a few values gets one sentence naming them, not one error per value', async (ctx) => {
  const body = isProblem(await inject(ctx, 'POST', '/coupons', { name: 'c', discountType: 'HALF', discountValue: 1, quantity: 1 }), 400, 'BAD_REQUEST', '/coupons');
  assert.equal(body.errors, [{ in: 'body', pointer: '#/discountType', detail: 'discountType must be one of "FIXED", "PERCENT"' }]);
  const points = isProblem(await inject(ctx, 'POST', '/users', { name: 'x', points: -1 }), 400, 'BAD_REQUEST', '/users');
  assert.equal(points.errors, [{ in: 'body', pointer: '#/points', detail: 'points must be at least 0' }]);
});

it('query and path parameters are named in their part', async (ctx) => {
  const body = isProblem(await inject(ctx, 'GET', '/users?limit=abc&cursor=' + 'x'.repeat(300)), 400, 'BAD_REQUEST', '/users');
  assert.equal(body.errors, [
    { in: 'query', pointer: '#/cursor', detail: 'cursor must be at most 200 characters long' },
    { in: 'query', pointer: '#/limit', detail: 'limit must be an integer' },
  ]);
  const bad = isProblem(await inject(ctx, 'GET', '/users/a.b'), 400, 'BAD_REQUEST', '/users/a.b');
  assert.equal(bad.errors, [{ in: 'path', pointer: '#/id', detail: 'id is not in the expected form' }]);
});

it('malformed JSON, the router refusing the URL, and a replayed error are problem details too', async (ctx) => {
  isProblem(await inject(ctx, 'POST', '/users', '{"name":'), 400, 'MALFORMED_JSON', '/users');
  const long = await inject(ctx, 'GET', `/users/${'x'.repeat(120)}`);
  assert.is(long.statusCode, 400);
  assert.match(String(long.headers['content-type']), /^application\/problem\+json/);
  assert.match(long.json().instance, /^urn:order-engine:request:/);
  const key = { 'idempotency-key': 'pd-replayed' };
  isProblem(await inject(ctx, 'POST', '/users/nobody/points/charge', { amount: 1 }, key), 404, 'NOT_FOUND', '/users/nobody/points/charge');
  const again = await inject(ctx, 'POST', '/users/nobody/points/charge', { amount: 1 }, key);
  assert.is(again.headers['idempotent-replayed'], 'true');
  isProblem(again, 404, 'NOT_FOUND', '/users/nobody/points/charge');
});

it.run();
