// The payment saga under contention, idempotency, cancel and restart, on every database in the matrix.

import * as assert from 'uvu/assert';
import { connect } from '../../src/db/connect.js';
import { databaseKinds } from '../helpers/databases.js';
import { appSuite, call, startApp } from '../helpers/engine.js';
import { checkInvariants } from '../helpers/invariants.js';

for (const kind of databaseKinds()) {
  const it = appSuite(kind, `payment saga on ${kind.name}`);

  it('200 concurrent pays on a product with stock 50: exactly 50 paid, the rest 409, points exact', async ({ t }) => {
    const product = await call(t.app, 'POST', '/products', { name: 'hot', price: 7, stock: 50 });
    assert.is(product.status, 201);
    const users = await Promise.all(Array.from({ length: 200 }, (_, i) => call(t.app, 'POST', '/users', { name: `buyer-${i}`, points: 100 })));
    const orders = await Promise.all(
      users.map((u) => call(t.app, 'POST', '/orders', { userId: u.body.id, items: [{ productId: product.body.id, quantity: 1 }] })),
    );
    for (const o of orders) assert.is(o.status, 201);
    const pays = await Promise.all(orders.map((o) => call(t.app, 'POST', `/orders/${o.body.id}/pay`)));
    const paid = pays.filter((p) => p.status === 200);
    const refused = pays.filter((p) => p.status === 409);
    assert.is(paid.length, 50);
    assert.is(refused.length, 150);
    for (const r of refused) {
      assert.is(r.body.error, 'INSUFFICIENT_STOCK');
      assert.is(r.body.productId, product.body.id);
    }
    assert.is((await call(t.app, 'GET', `/products/${product.body.id}`)).body.stock, 0);
    const paidUsers = new Set(paid.map((p) => p.body.userId));
    for (const u of users) {
      const now = await call(t.app, 'GET', `/users/${u.body.id}`);
      assert.is(now.body.points, paidUsers.has(u.body.id) ? 93 : 100, `points of ${u.body.name}`);
    }
    const failed = await call(t.app, 'GET', `/orders/${refused[0]?.body ? orders[pays.indexOf(refused[0])]?.body.id : ''}`);
    assert.is(failed.body.status, 'FAILED');
    assert.is(failed.body.failureReason, 'INSUFFICIENT_STOCK');
  });

  // PostgreSQL and PGlite name an event's batch by its transaction; MySQL does not expose one.
  if (kind.name !== 'mysql') {
    it('100 concurrent pays: each commits in one batch, its order, product and user events together', async ({ t }) => {
      const product = await call(t.app, 'POST', '/products', { name: 'busy', price: 3, stock: 1000 });
      const users = await Promise.all(Array.from({ length: 100 }, (_, i) => call(t.app, 'POST', '/users', { name: `one-batch-${i}`, points: 10 })));
      const orders = await Promise.all(users.map((u) => call(t.app, 'POST', '/orders', { userId: u.body.id, items: [{ productId: product.body.id, quantity: 1 }] })));
      const pays = await Promise.all(orders.map((o) => call(t.app, 'POST', `/orders/${o.body.id}/pay`)));
      assert.ok(pays.every((p) => p.status === 200));
      const admin = { authorization: 'Bearer test-token' };
      for (const o of orders) {
        const timeline = await call(t.app, 'GET', `/admin/orders/${o.body.id}/timeline`, undefined, admin);
        const steps = (timeline.body.steps as Array<{ step: string; batch: string }>).filter((s) => s.step !== 'created');
        assert.equal(steps.map((s) => s.step), ['payment-started', 'reserve', 'debit', 'paid']);
        assert.is(new Set(steps.map((s) => s.batch)).size, 1, `the batches of order ${o.body.id}: ${steps.map((s) => `${s.step} ${s.batch}`).join(', ')}`);
      }
    });
  }

  it('a multi-item order whose second product is short releases the first', async ({ t }) => {
    const a = await call(t.app, 'POST', '/products', { name: 'a', price: 10, stock: 5 });
    const b = await call(t.app, 'POST', '/products', { name: 'b', price: 10, stock: 1 });
    const u = await call(t.app, 'POST', '/users', { name: 'multi', points: 1000 });
    const o = await call(t.app, 'POST', '/orders', {
      userId: u.body.id,
      items: [
        { productId: a.body.id, quantity: 2 },
        { productId: b.body.id, quantity: 3 },
      ],
    });
    const pay = await call(t.app, 'POST', `/orders/${o.body.id}/pay`);
    assert.is(pay.status, 409);
    assert.is(pay.body.error, 'INSUFFICIENT_STOCK');
    assert.is(pay.body.productId, b.body.id);
    assert.is((await call(t.app, 'GET', `/products/${a.body.id}`)).body.stock, 5);
    assert.is((await call(t.app, 'GET', `/users/${u.body.id}`)).body.points, 1000);
  });

  it('insufficient points releases every reservation', async ({ t }) => {
    const p = await call(t.app, 'POST', '/products', { name: 'dear', price: 500, stock: 3 });
    const u = await call(t.app, 'POST', '/users', { name: 'poor', points: 499 });
    const o = await call(t.app, 'POST', '/orders', { userId: u.body.id, items: [{ productId: p.body.id, quantity: 1 }] });
    const pay = await call(t.app, 'POST', `/orders/${o.body.id}/pay`);
    assert.is(pay.status, 409);
    assert.is(pay.body.error, 'INSUFFICIENT_POINTS');
    assert.is((await call(t.app, 'GET', `/products/${p.body.id}`)).body.stock, 3);
    assert.is((await call(t.app, 'GET', `/users/${u.body.id}`)).body.points, 499);
  });

  it('the same Idempotency-Key charges once and pays once', async ({ t }) => {
    const u = await call(t.app, 'POST', '/users', { name: 'idem', points: 0 });
    const key = { 'idempotency-key': `charge-${u.body.id}` };
    const first = await call(t.app, 'POST', `/users/${u.body.id}/points/charge`, { amount: 40 }, key);
    const again = await call(t.app, 'POST', `/users/${u.body.id}/points/charge`, { amount: 40 }, key);
    assert.equal(first.body, { id: u.body.id, points: 40 });
    assert.equal(again.body, first.body);
    assert.is((await call(t.app, 'GET', `/users/${u.body.id}`)).body.points, 40);

    const p = await call(t.app, 'POST', '/products', { name: 'idem-p', price: 10, stock: 10 });
    const o = await call(t.app, 'POST', '/orders', { userId: u.body.id, items: [{ productId: p.body.id, quantity: 2 }] });
    const payKey = { 'idempotency-key': `pay-${o.body.id}` };
    const [x, y] = await Promise.all([
      call(t.app, 'POST', `/orders/${o.body.id}/pay`, undefined, payKey),
      call(t.app, 'POST', `/orders/${o.body.id}/pay`, undefined, payKey),
    ]);
    // Both at once: one runs, the other is told it is running (or, when the first was quicker, gets its answer).
    const [paid, second] = x.status === 200 ? [x, y] : [y, x];
    assert.is(paid.status, 200);
    if (second.status === 409) assert.is(second.body.error, 'IDEMPOTENCY_KEY_IN_PROGRESS');
    else assert.equal(second.body, paid.body);
    assert.equal((await call(t.app, 'POST', `/orders/${o.body.id}/pay`, undefined, payKey)).body, paid.body);
    assert.is((await call(t.app, 'GET', `/products/${p.body.id}`)).body.stock, 8);
    assert.is((await call(t.app, 'GET', `/users/${u.body.id}`)).body.points, 20);
  });

  it('cancel of a paid order refunds and restocks; cancelling twice changes nothing more', async ({ t }) => {
    const p = await call(t.app, 'POST', '/products', { name: 'c', price: 30, stock: 4 });
    const u = await call(t.app, 'POST', '/users', { name: 'canceller', points: 100 });
    const o = await call(t.app, 'POST', '/orders', { userId: u.body.id, items: [{ productId: p.body.id, quantity: 3 }] });
    assert.is((await call(t.app, 'POST', `/orders/${o.body.id}/pay`)).status, 200);
    const c1 = await call(t.app, 'POST', `/orders/${o.body.id}/cancel`);
    const c2 = await call(t.app, 'POST', `/orders/${o.body.id}/cancel`);
    assert.is(c1.body.status, 'CANCELLED');
    assert.is(c2.body.status, 'CANCELLED');
    assert.is((await call(t.app, 'GET', `/products/${p.body.id}`)).body.stock, 4);
    assert.is((await call(t.app, 'GET', `/users/${u.body.id}`)).body.points, 100);
    const repay = await call(t.app, 'POST', `/orders/${o.body.id}/pay`);
    assert.is(repay.status, 409);
    assert.is(repay.body.error, 'ORDER_NOT_PAYABLE');
  });

  it('after a restart every actor is as it was, and actor state equals the read model', async (ctx) => {
    const { app } = ctx.t;
    const p = await call(app, 'POST', '/products', { name: 'restart', price: 3, stock: 1000 });
    // Past the snapshot interval, so recovery reads a snapshot and the events after it.
    const u = await call(app, 'POST', '/users', { name: 'restarter', points: 1_000_000 });
    const orders = await Promise.all(
      Array.from({ length: 30 }, () => call(app, 'POST', '/orders', { userId: u.body.id, items: [{ productId: p.body.id, quantity: 2 }] })),
    );
    await Promise.all(orders.map((o) => call(app, 'POST', `/orders/${o.body.id}/pay`)));
    await call(app, 'POST', `/orders/${orders[0]?.body.id}/cancel`);
    const before = {
      product: (await call(app, 'GET', `/products/${p.body.id}`)).body,
      user: (await call(app, 'GET', `/users/${u.body.id}`)).body,
      orders: await Promise.all(orders.map(async (o) => (await call(app, 'GET', `/orders/${o.body.id}`)).body)),
    };
    assert.is(before.product.stock, 1000 - 29 * 2);
    await ctx.t.close();
    const invariants = await checkInvariants(ctx.db.url);
    assert.equal(invariants.problems, []);

    ctx.t = await startApp(ctx.db.url, { SNAPSHOT_EVERY: '7' });
    const after = {
      product: (await call(ctx.t.app, 'GET', `/products/${p.body.id}`)).body,
      user: (await call(ctx.t.app, 'GET', `/users/${u.body.id}`)).body,
      orders: await Promise.all(orders.map(async (o) => (await call(ctx.t.app, 'GET', `/orders/${o.body.id}`)).body)),
    };
    assert.equal(after, before);
    const listed = await call(ctx.t.app, 'GET', `/orders?ids=${orders.map((o) => o.body.id).join(',')}`);
    assert.equal(listed.body.items, before.orders);
    const products = await call(ctx.t.app, 'GET', `/products?name=restart`);
    assert.equal(products.body.items, [before.product]);
  });

  it('names with quotes, braces, commas, backslashes and emoji survive the journal and the read model', async (ctx) => {
    const name = `a"b{c},d\\e'f NULL ünï 🎉 ${'x'.repeat(150)}`;
    const u = await call(ctx.t.app, 'POST', '/users', { name, points: 5 });
    const p = await call(ctx.t.app, 'POST', '/products', { name, price: 1, stock: 2 });
    assert.is(u.body.name, name);
    await ctx.t.close();
    ctx.t = await startApp(ctx.db.url);
    assert.is((await call(ctx.t.app, 'GET', `/users/${u.body.id}`)).body.name, name);
    assert.equal((await call(ctx.t.app, 'GET', `/products?name=${encodeURIComponent(name)}`)).body.items, [p.body]);
    assert.equal((await call(ctx.t.app, 'GET', `/users?name=${encodeURIComponent(name)}`)).body.items, [u.body]);
  });

  it('popular products count paid units over the last days, less cancelled ones', async ({ t }) => {
    const product = (name: string) => call(t.app, 'POST', '/products', { name, price: 1, stock: 100 });
    const [a, b, c] = [await product('pop-a'), await product('pop-b'), await product('pop-c')];
    const u = await call(t.app, 'POST', '/users', { name: 'pop-buyer', points: 10_000 });
    const buy = async (items: Array<[any, number]>) => {
      const o = await call(t.app, 'POST', '/orders', { userId: u.body.id, items: items.map(([p, quantity]) => ({ productId: p.body.id, quantity })) });
      assert.is((await call(t.app, 'POST', `/orders/${o.body.id}/pay`)).status, 200);
      return o.body.id as string;
    };
    await buy([[a, 5], [b, 2]]);
    await buy([[b, 4]]);
    const cancelled = await buy([[c, 9]]);
    await buy([[c, 1]]);
    assert.is((await call(t.app, 'POST', `/orders/${cancelled}/cancel`)).status, 200);
    // An order created but never paid counts for nothing.
    await call(t.app, 'POST', '/orders', { userId: u.body.id, items: [{ productId: c.body.id, quantity: 50 }] });

    const popular = await call(t.app, 'GET', '/products/popular?days=1&limit=100');
    assert.is(popular.status, 200);
    const ours = popular.body.items.filter((p: { name: string }) => p.name.startsWith('pop-'));
    assert.equal(ours, [
      { id: b.body.id, name: 'pop-b', unitsSold: 6 },
      { id: a.body.id, name: 'pop-a', unitsSold: 5 },
      { id: c.body.id, name: 'pop-c', unitsSold: 1 },
    ]);
    assert.is(popular.body.nextCursor, null);
    assert.is((await call(t.app, 'GET', '/products/popular?days=0')).status, 400);
  });

  it('snapshots taken during load recover to the same state', async (ctx) => {
    await ctx.t.close();
    ctx.t = await startApp(ctx.db.url, { SNAPSHOT_EVERY: '5' });
    const p = await call(ctx.t.app, 'POST', '/products', { name: 'snap', price: 1, stock: 100 });
    for (let i = 0; i < 23; i++) await call(ctx.t.app, 'POST', `/products/${p.body.id}/restock`, { quantity: 1 });
    await ctx.t.close();
    const { db, close } = await connect({ url: ctx.db.url, dataDir: '', poolSize: 1 });
    const snaps = await db.selectFrom('snapshots').select('sequence_nr').where('persistence_key', '=', `product-${p.body.id}`).execute();
    await close();
    assert.equal(snaps.map((s) => Number(s.sequence_nr)), [20]);
    ctx.t = await startApp(ctx.db.url);
    assert.is((await call(ctx.t.app, 'GET', `/products/${p.body.id}`)).body.stock, 123);
  });

  it.run();
}
