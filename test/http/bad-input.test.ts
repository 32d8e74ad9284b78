// Bad input gets a clear 4xx with {error, message} and changes nothing; the contract's shapes hold.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { call, startApp, type TestApp } from '../helpers/engine.js';

const it = suite<{ db: TestDatabase; t: TestApp; user: any; product: any; order: any }>('HTTP bad input');
const [pglite] = databaseKinds();

it.before(async (ctx) => {
  ctx.db = await pglite!.create();
  ctx.t = await startApp(ctx.db.url);
  ctx.user = (await call(ctx.t.app, 'POST', '/users', { name: 'bob', points: 500 })).body;
  ctx.product = (await call(ctx.t.app, 'POST', '/products', { name: 'thing', price: 100, stock: 5 })).body;
  ctx.order = (await call(ctx.t.app, 'POST', '/orders', { userId: ctx.user.id, items: [{ productId: ctx.product.id, quantity: 1 }] })).body;
});
it.after(async (ctx) => {
  await ctx.t?.close();
  await ctx.db?.drop();
});

const isError = (r: { status: number; body: any }, status: number, code?: string) => {
  assert.is(r.status, status, JSON.stringify(r.body));
  assert.type(r.body?.error, 'string');
  assert.type(r.body?.message, 'string');
  if (code) assert.is(r.body.error, code);
};

async function unchanged(ctx: { t: TestApp; user: any; product: any; order: any }) {
  assert.is((await call(ctx.t.app, 'GET', `/users/${ctx.user.id}`)).body.points, 500);
  assert.is((await call(ctx.t.app, 'GET', `/products/${ctx.product.id}`)).body.stock, 5);
  assert.is((await call(ctx.t.app, 'GET', `/orders/${ctx.order.id}`)).body.status, 'CREATED');
  assert.is((await call(ctx.t.app, 'GET', '/users?limit=100')).body.items.length, 1);
  assert.is((await call(ctx.t.app, 'GET', '/products?limit=100')).body.items.length, 1);
}

it('amounts and quantities: zero, negative, fractional, huge, strings → 400', async (ctx) => {
  const { app } = ctx.t;
  for (const amount of [0, -5, 1.5, 1e16, '10', null, true]) {
    isError(await call(app, 'POST', `/users/${ctx.user.id}/points/charge`, { amount }), 400, 'BAD_REQUEST');
  }
  for (const quantity of [0, -1, 2.5, 1e12, '3']) {
    isError(await call(app, 'POST', `/products/${ctx.product.id}/restock`, { quantity }), 400, 'BAD_REQUEST');
    isError(await call(app, 'POST', '/orders', { userId: ctx.user.id, items: [{ productId: ctx.product.id, quantity }] }), 400);
  }
  for (const body of [{ name: 'x', price: -1, stock: 1 }, { name: 'x', price: 1.25, stock: 1 }, { name: 'x', price: 1, stock: -3 }, { name: '', price: 1, stock: 1 }, { name: 'x', price: 1 }]) {
    isError(await call(app, 'POST', '/products', body), 400);
  }
  isError(await call(app, 'POST', '/users', { name: '   ' }), 400);
  isError(await call(app, 'POST', '/users', { name: 'x'.repeat(201) }), 400);
  isError(await call(app, 'POST', '/users', { name: 'ok', points: -1 }), 400);
  await unchanged(ctx);
});

it('orders: empty items, the same product twice, unknown ids, extra fields', async (ctx) => {
  const { app } = ctx.t;
  isError(await call(app, 'POST', '/orders', { userId: ctx.user.id, items: [] }), 400);
  const twice = [
    { productId: ctx.product.id, quantity: 1 },
    { productId: ctx.product.id, quantity: 2 },
  ];
  isError(await call(app, 'POST', '/orders', { userId: ctx.user.id, items: twice }), 400, 'INVALID_ORDER');
  isError(await call(app, 'POST', '/orders', { userId: 'nobody', items: [{ productId: ctx.product.id, quantity: 1 }] }), 404, 'NOT_FOUND');
  const unknownProduct = await call(app, 'POST', '/orders', { userId: ctx.user.id, items: [{ productId: 'nothing', quantity: 1 }] });
  isError(unknownProduct, 404, 'NOT_FOUND');
  isError(await call(app, 'POST', '/orders', { userId: ctx.user.id, items: [{ productId: ctx.product.id, quantity: 1 }], extra: 1 }), 400);
  isError(await call(app, 'POST', '/orders', { userId: ctx.user.id, items: [{ productId: ctx.product.id, quantity: 1, price: 0 }] }), 400);
  isError(await call(app, 'POST', '/users', { name: 'eve', points: 1, admin: true }), 400);
  isError(await call(app, 'POST', '/orders', { userId: ctx.user.id, items: Array.from({ length: 101 }, (_, i) => ({ productId: `p${i}`, quantity: 1 })) }), 400);
  await unchanged(ctx);
});

it('malformed and truncated JSON, wrong content type, oversized bodies', async (ctx) => {
  const { app } = ctx.t;
  isError(await call(app, 'POST', '/users', '{"name":'), 400, 'MALFORMED_JSON');
  isError(await call(app, 'POST', `/users/${ctx.user.id}/points/charge`, '{"amount": 5,}'), 400, 'MALFORMED_JSON');
  isError(await call(app, 'POST', '/products', '[1,2,3]'), 400);
  const text = await app.inject({ method: 'POST', url: '/users', headers: { 'content-type': 'application/xml' }, payload: '<name>x</name>' });
  assert.is(text.statusCode, 415);
  const huge = await call(app, 'POST', '/users', { name: 'x', pad: 'y'.repeat(70_000) });
  isError(huge, 413, 'PAYLOAD_TOO_LARGE');
  await unchanged(ctx);
});

it('ids: unknown → 404, malformed or traversal → 400, unknown routes → 404', async (ctx) => {
  const { app } = ctx.t;
  isError(await call(app, 'GET', '/users/does-not-exist'), 404, 'NOT_FOUND');
  isError(await call(app, 'GET', '/products/does-not-exist'), 404, 'NOT_FOUND');
  isError(await call(app, 'GET', '/orders/does-not-exist'), 404, 'NOT_FOUND');
  isError(await call(app, 'POST', '/orders/nope/pay'), 404, 'NOT_FOUND');
  isError(await call(app, 'POST', '/orders/nope/cancel'), 404, 'NOT_FOUND');
  isError(await call(app, 'POST', '/users/nope/points/charge', { amount: 1 }), 404, 'NOT_FOUND');
  isError(await call(app, 'GET', '/users/..%2F..%2Fetc%2Fpasswd'), 400);
  isError(await call(app, 'GET', `/users/${'a'.repeat(65)}`), 400);
  isError(await call(app, 'GET', '/users/%E2%9C%93'), 400);
  isError(await call(app, 'GET', '/nowhere'), 404, 'ROUTE_NOT_FOUND');
  isError(await call(app, 'GET', `/orders?ids=${Array.from({ length: 101 }, (_, i) => `o${i}`).join(',')}`), 400);
  isError(await call(app, 'GET', '/orders'), 400);
  isError(await call(app, 'GET', '/users?limit=0'), 400);
  isError(await call(app, 'GET', '/users?limit=abc'), 400);
  isError(await call(app, 'GET', '/users?cursor=not-a-cursor'), 400, 'BAD_CURSOR');
  await unchanged(ctx);
});

it('business conflicts are 409 and change nothing', async (ctx) => {
  const { app } = ctx.t;
  const big = await call(app, 'POST', '/orders', { userId: ctx.user.id, items: [{ productId: ctx.product.id, quantity: 6 }] });
  isError(await call(app, 'POST', `/orders/${big.body.id}/pay`), 409, 'INSUFFICIENT_STOCK');
  isError(await call(app, 'POST', `/orders/${big.body.id}/pay`), 409, 'ORDER_NOT_PAYABLE');
  isError(await call(app, 'POST', `/orders/${big.body.id}/cancel`), 409, 'ORDER_NOT_CANCELLABLE');
  assert.is((await call(app, 'GET', `/users/${ctx.user.id}`)).body.points, 500);
  assert.is((await call(app, 'GET', `/products/${ctx.product.id}`)).body.stock, 5);
});

it('lists page without skipping or repeating, and find by exact name', async (ctx) => {
  const { app } = ctx.t;
  for (let i = 0; i < 7; i++) await call(app, 'POST', '/users', { name: `pager-${i}`, points: 0 });
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await call(app, 'GET', `/users?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
    seen.push(...page.body.items.map((u) => u.id));
    cursor = page.body.nextCursor;
  } while (cursor);
  assert.is(seen.length, 8);
  assert.is(new Set(seen).size, 8);
  const found = await call(app, 'GET', '/users?name=pager-3');
  assert.is(found.body.items.length, 1);
  assert.is(found.body.items[0].name, 'pager-3');
  const mine = await call(app, 'GET', `/users/${ctx.user.id}/orders?limit=10`);
  assert.ok(mine.body.items.some((o: { id: string }) => o.id === ctx.order.id));
});

it('admin: no token or a wrong one → 401 and no data; the right one reads an actor through its mailbox', async (ctx) => {
  const { app } = ctx.t;
  const none = await call(app, 'GET', '/admin/actors');
  isError(none, 401, 'UNAUTHORIZED');
  assert.not.ok(none.text.includes(ctx.product.id));
  isError(await call(app, 'GET', `/admin/actors/product/${ctx.product.id}`, undefined, { authorization: 'Bearer wrong' }), 401);
  const ok = await call(app, 'GET', `/admin/actors/product/${ctx.product.id}`, undefined, { authorization: 'Bearer test-token' });
  assert.is(ok.status, 200);
  assert.is(ok.body.committed.stock, 5);
  const list = await call(app, 'GET', '/admin/actors?kind=product', undefined, { authorization: 'Bearer test-token' });
  assert.ok(list.body.items.some((a: { id: string }) => a.id === ctx.product.id));
});

it('OpenAPI document, Swagger UI, metrics and health answer', async (ctx) => {
  const { app } = ctx.t;
  const doc = await call(app, 'GET', '/docs/json');
  assert.ok(doc.body.paths['/orders/{id}/pay']);
  assert.ok((await app.inject({ method: 'GET', url: '/docs' })).statusCode < 400);
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.body, /orderengine_http_request_duration_seconds_bucket/);
  assert.match(metrics.body, /orderengine_live_actors\{kind="product"\} \d+/);
  assert.is((await call(app, 'GET', '/health/live')).status, 200);
  assert.is((await call(app, 'GET', '/health/ready')).status, 200);
});

it.run();
