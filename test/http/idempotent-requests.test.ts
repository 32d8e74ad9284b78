// Idempotency-Key on every unsafe POST of the engine, on every database: a repeat changes nothing and gets the first answer, a key reused for another request is refused, and a run whose answer was lost after its commit is answered as it would have been.

import type { FastifyInstance } from 'fastify';
import * as assert from 'uvu/assert';
import { buildApp } from '../../src/http/app.js';
import type { StoredAnswer } from '../../src/http/plugins/idempotency-store.js';
import { SqlIdempotencyStore } from '../../src/idempotency/sql-idempotency-store.js';
import { Metrics } from '../../src/metrics.js';
import { databaseKinds } from '../helpers/databases.js';
import { appOptions, appSuite, call, type AppContext } from '../helpers/engine.js';

/** A store whose claims lapse at once and whose answers are never kept: each run is a process that stopped after its commit, before its answer was stored. */
class LosingAnswersStore extends SqlIdempotencyStore {
  override async complete(_key: string, _token: string, _answer: StoredAnswer): Promise<boolean> {
    return false;
  }
}

const keyed = (app: FastifyInstance, url: string, key: string, body?: unknown) =>
  app.inject({
    method: 'POST',
    url,
    headers: { 'idempotency-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });

let keys = 0;
const newKey = () => `key-${process.pid}-${++keys}`;

for (const kind of databaseKinds()) {
  const it = appSuite(kind, `Idempotency-Key on the engine's POSTs on ${kind.name}`);

  const seed = async ({ t }: AppContext) => {
    const user = (await call(t.app, 'POST', '/users', { name: 'idem', points: 1000 })).body;
    const product = (await call(t.app, 'POST', '/products', { name: 'idem-p', price: 10, stock: 50 })).body;
    const coupon = (await call(t.app, 'POST', '/coupons', { name: 'idem-c', discountType: 'FIXED', discountValue: 5, quantity: 10 })).body;
    return { user, product, coupon };
  };

  it('every unsafe POST repeated with its key gets the first answer, marked Idempotent-Replayed, and changes nothing more', async (ctx) => {
    const { app } = ctx.t;
    const { user, product, coupon } = await seed(ctx);
    const order = (await call(app, 'POST', '/orders', { userId: user.id, items: [{ productId: product.id, quantity: 1 }] })).body;
    const other = (await call(app, 'POST', '/orders', { userId: user.id, items: [{ productId: product.id, quantity: 2 }] })).body;
    await call(app, 'POST', `/orders/${other.id}/pay`);
    const requests: Array<[string, unknown?]> = [
      ['/users', { name: 'once-user' }],
      ['/products', { name: 'once-product', price: 1, stock: 1 }],
      ['/coupons', { name: 'once-coupon', discountType: 'PERCENT', discountValue: 10, quantity: 1 }],
      ['/orders', { userId: user.id, items: [{ productId: product.id, quantity: 3 }] }],
      [`/coupons/${coupon.id}/issue`, { userId: user.id }],
      [`/users/${user.id}/points/charge`, { amount: 100 }],
      [`/products/${product.id}/restock`, { quantity: 5 }],
      [`/orders/${order.id}/pay`],
      [`/orders/${other.id}/cancel`],
    ];
    for (const [url, body] of requests) {
      const key = newKey();
      const first = await keyed(app, url, key, body);
      const again = await keyed(app, url, key, body);
      assert.ok(first.statusCode < 300, `${url}: ${first.body}`);
      assert.is(again.statusCode, first.statusCode, url);
      assert.is(again.body, first.body, url);
      assert.is(again.headers['idempotent-replayed'], 'true', url);
      assert.is(first.headers['idempotent-replayed'], undefined, url);
    }
    assert.is((await call(app, 'GET', '/users?name=once-user')).body.items.length, 1);
    assert.is((await call(app, 'GET', '/products?name=once-product')).body.items.length, 1);
    // Order: 1 paid (10), other paid then cancelled (refunded): 1000 + 100 − 10.
    assert.is((await call(app, 'GET', `/users/${user.id}`)).body.points, 1090);
    // 50 − 1 (paid) + 5 (restock); the other order's 2 came back with its cancel; 3 are only ordered.
    assert.is((await call(app, 'GET', `/products/${product.id}`)).body.stock, 54);
    assert.is((await call(app, 'GET', `/users/${user.id}/orders`)).body.items.length, 3);
    assert.is((await call(app, 'GET', `/coupons/${coupon.id}`)).body.issued, 1);
  });

  it('the same key with another body (charge 100, then 500) answers 422 IDEMPOTENCY_KEY_REUSED and charges nothing', async (ctx) => {
    const { app } = ctx.t;
    const { user } = await seed(ctx);
    const key = newKey();
    assert.is((await keyed(app, `/users/${user.id}/points/charge`, key, { amount: 100 })).statusCode, 200);
    const reused = await keyed(app, `/users/${user.id}/points/charge`, key, { amount: 500 });
    assert.is(reused.statusCode, 422);
    assert.is(reused.json().error, 'IDEMPOTENCY_KEY_REUSED');
    const elsewhere = await keyed(app, '/users', key, { name: 'elsewhere' });
    assert.is(elsewhere.statusCode, 422);
    assert.is((await call(app, 'GET', `/users/${user.id}`)).body.points, 1100);
    assert.is((await call(app, 'GET', '/users?name=elsewhere')).body.items.length, 0);
  });

  it('an answer kept by one process is replayed by another on the same database', async (ctx) => {
    const { engine, app } = ctx.t;
    const other = await buildApp(appOptions(engine, new Metrics()));
    try {
      const key = newKey();
      const first = await keyed(app, '/users', key, { name: 'two-processes' });
      const again = await keyed(other, '/users', key, { name: 'two-processes' });
      assert.is(again.body, first.body);
      assert.is(again.headers['idempotent-replayed'], 'true');
      assert.is((await call(app, 'GET', '/users?name=two-processes')).body.items.length, 1);
    } finally {
      await other.close();
    }
  });

  it('a charge whose answer was lost after its commit is answered, on repeat, with the balance it made, not the balance now', async (ctx) => {
    const { engine, app } = ctx.t;
    const { user } = await seed(ctx);
    const losing = await buildApp(appOptions(engine, new Metrics(), { idempotencyStore: new LosingAnswersStore(engine.database.db, { retentionMs: 3600_000, claimMs: 0 }) }));
    try {
      const key = newKey();
      const first = await keyed(losing, `/users/${user.id}/points/charge`, key, { amount: 100 });
      assert.equal(first.json(), { id: user.id, points: 1100 });
      await call(app, 'POST', `/users/${user.id}/points/charge`, { amount: 7 });
      const again = await keyed(losing, `/users/${user.id}/points/charge`, key, { amount: 100 });
      assert.is(again.statusCode, 200);
      assert.equal(again.json(), { id: user.id, points: 1100 });
      assert.is((await call(app, 'GET', `/users/${user.id}`)).body.points, 1107);
    } finally {
      await losing.close();
    }
  });

  it('creates whose answers were lost after their commits create nothing more on repeat and answer what they created', async (ctx) => {
    const { engine, app } = ctx.t;
    const { product, coupon } = await seed(ctx);
    const losing = await buildApp(appOptions(engine, new Metrics(), { idempotencyStore: new LosingAnswersStore(engine.database.db, { retentionMs: 3600_000, claimMs: 0 }) }));
    try {
      const userKey = newKey();
      const made = await keyed(losing, '/users', userKey, { name: 'lost-answer', points: 50 });
      await call(app, 'POST', `/users/${made.json().id}/points/charge`, { amount: 1 });
      const again = await keyed(losing, '/users', userKey, { name: 'lost-answer', points: 50 });
      assert.is(again.statusCode, 201);
      assert.is(again.body, made.body);
      assert.is((await call(app, 'GET', '/users?name=lost-answer')).body.items.length, 1);

      const orderKey = newKey();
      const body = { userId: made.json().id, items: [{ productId: product.id, quantity: 1 }] };
      const order = await keyed(losing, '/orders', orderKey, body);
      assert.is((await keyed(losing, '/orders', orderKey, body)).body, order.body);
      assert.is((await call(app, 'GET', `/users/${made.json().id}/orders`)).body.items.length, 1);

      const issueKey = newKey();
      const issued = await keyed(losing, `/coupons/${coupon.id}/issue`, issueKey, { userId: made.json().id });
      assert.is(issued.statusCode, 201);
      const reissued = await keyed(losing, `/coupons/${coupon.id}/issue`, issueKey, { userId: made.json().id });
      assert.is(reissued.statusCode, 201);
      assert.is(reissued.body, issued.body);
    } finally {
      await losing.close();
    }
  });

  it.run();
}
