// Coupons end to end: the first-come-first-served race, discounts on payment, a cancel that gives the coupon back, restart.

import * as assert from 'uvu/assert';
import { databaseKinds } from '../helpers/databases.js';
import { appSuite, call, startApp, type AppContext, type TestApp } from '../helpers/engine.js';
import { checkInvariants } from '../helpers/invariants.js';

type Ctx = AppContext;

/**
 * 10,000 requests at once on one coupon: the overload bounds (ACTORS_MAILBOX_MAX,
 * HTTP_MAX_IN_FLIGHT) would refuse some with 429/503 before they race. The race is what this
 * suite tests; test/reliability/overload.test.ts tests the bounds.
 */
const RACE = { ACTORS_MAILBOX_MAX: '20000', HTTP_MAX_IN_FLIGHT: '20000' };

async function users(t: TestApp, n: number, points: number): Promise<string[]> {
  const made = await Promise.all(Array.from({ length: n }, (_, i) => call(t.app, 'POST', '/users', { name: `holder-${i}`, points })));
  return made.map((u) => {
    assert.is(u.status, 201);
    return u.body.id as string;
  });
}

async function coupon(t: TestApp, body: Record<string, unknown>): Promise<string> {
  const c = await call(t.app, 'POST', '/coupons', { name: 'c', discountType: 'FIXED', discountValue: 100, quantity: 1, ...body });
  assert.is(c.status, 201, JSON.stringify(c.body));
  return c.body.id;
}

/**
 * DESIGN.md's invariants, read from the database. PGlite is one process's files: the engine
 * stops while they are read, then starts again on them.
 */
async function invariants(ctx: Ctx): Promise<string[]> {
  if (ctx.db.name !== 'pglite') return (await checkInvariants(ctx.db.url)).problems;
  await ctx.t.close();
  const { problems } = await checkInvariants(ctx.db.url);
  ctx.t = await startApp(ctx.db.url, RACE);
  return problems;
}

for (const kind of databaseKinds()) {
  const it = appSuite(kind, `coupons on ${kind.name}`, RACE);

  it('10,000 concurrent issue requests for 100 coupons: exactly 100 issued, no user twice, the rest 409', async (ctx) => {
    const { t } = ctx;
    const holders = await users(t, 2_000, 0);
    const id = await coupon(t, { quantity: 100 });
    // Every user asks five times, all at once.
    const asks = holders.flatMap((userId) => Array.from({ length: 5 }, () => userId));
    const answers = await Promise.all(asks.map((userId) => call(t.app, 'POST', `/coupons/${id}/issue`, { userId })));
    const issued = answers.filter((a) => a.status === 201);
    assert.is(issued.length, 100);
    assert.is(new Set(issued.map((a) => a.body.userId)).size, 100);
    for (const a of issued) assert.equal(a.body, { couponId: id, userId: a.body.userId, status: 'ISSUED' });
    const codes = new Set(answers.filter((a) => a.status !== 201).map((a) => `${a.status} ${a.body.error}`));
    for (const code of codes) assert.ok(['409 COUPON_ALREADY_ISSUED', '409 COUPON_CLAIM_IN_PROGRESS', '409 COUPON_SOLD_OUT'].includes(code), code);
    assert.ok(codes.has('409 COUPON_SOLD_OUT'));
    assert.is((await call(t.app, 'GET', `/coupons/${id}`)).body.issued, 100);

    const winner = issued[0]?.body.userId as string;
    const held = await call(t.app, 'GET', `/users/${winner}/coupons`);
    assert.is(held.status, 200);
    assert.is(held.body.items.length, 1);
    assert.is(held.body.items[0].couponId, id);
    assert.is(held.body.items[0].status, 'ISSUED');
    const loser = holders.find((u) => !issued.some((a) => a.body.userId === u)) as string;
    assert.equal((await call(t.app, 'GET', `/users/${loser}/coupons`)).body.items, []);
    assert.equal(await invariants(ctx), []);
  });

  it('a paid order takes the discount and uses the coupon; a cancel refunds and gives it back', async (ctx) => {
    const { t } = ctx;
    const [userId] = await users(t, 1, 10_000);
    const p = await call(t.app, 'POST', '/products', { name: 'lamp', price: 1_000, stock: 10 });
    const id = await coupon(t, { discountType: 'PERCENT', discountValue: 15, quantity: 5 });
    assert.is((await call(t.app, 'POST', `/coupons/${id}/issue`, { userId })).status, 201);

    const o = await call(t.app, 'POST', '/orders', { userId, items: [{ productId: p.body.id, quantity: 3 }], couponId: id });
    assert.is(o.status, 201);
    assert.is(o.body.total, 2_550);
    assert.is(o.body.discount, 450);
    assert.is(o.body.couponId, id);
    const paid = await call(t.app, 'POST', `/orders/${o.body.id}/pay`);
    assert.is(paid.status, 200);
    assert.is(paid.body.status, 'PAID');
    assert.is((await call(t.app, 'GET', `/users/${userId}`)).body.points, 7_450);
    let held = (await call(t.app, 'GET', `/users/${userId}/coupons`)).body.items[0];
    assert.is(held.status, 'USED');
    assert.is(held.orderId, o.body.id);

    // Used: a second order with it is refused at creation.
    const again = await call(t.app, 'POST', '/orders', { userId, items: [{ productId: p.body.id, quantity: 1 }], couponId: id });
    assert.is(again.status, 409);
    assert.is(again.body.error, 'COUPON_ALREADY_USED');

    const cancelled = await call(t.app, 'POST', `/orders/${o.body.id}/cancel`);
    assert.is(cancelled.body.status, 'CANCELLED');
    assert.is((await call(t.app, 'GET', `/users/${userId}`)).body.points, 10_000);
    assert.is((await call(t.app, 'GET', `/products/${p.body.id}`)).body.stock, 10);
    held = (await call(t.app, 'GET', `/users/${userId}/coupons`)).body.items[0];
    assert.is(held.status, 'ISSUED');
    assert.is(held.orderId, null);

    // Given back: it pays another order.
    const next = await call(t.app, 'POST', '/orders', { userId, items: [{ productId: p.body.id, quantity: 1 }], couponId: id });
    assert.is(next.body.total, 850);
    assert.is((await call(t.app, 'POST', `/orders/${next.body.id}/pay`)).status, 200);
    assert.equal(await invariants(ctx), []);
  });

  it('two orders carrying one coupon paid at once: exactly one is paid, the other fails and releases its stock', async (ctx) => {
    const { t } = ctx;
    for (let round = 0; round < 5; round++) {
      const [userId] = await users(t, 1, 100_000);
      const p = await call(t.app, 'POST', '/products', { name: `twin-${round}`, price: 500, stock: 10 });
      const id = await coupon(t, { discountValue: 200, quantity: 1 });
      assert.is((await call(t.app, 'POST', `/coupons/${id}/issue`, { userId })).status, 201);
      const orders = await Promise.all(
        [1, 2].map(() => call(t.app, 'POST', '/orders', { userId, items: [{ productId: p.body.id, quantity: 1 }], couponId: id })),
      );
      const pays = await Promise.all(orders.map((o) => call(t.app, 'POST', `/orders/${o.body.id}/pay`)));
      assert.equal(pays.map((r) => r.status).sort(), [200, 409]);
      assert.is(pays.find((r) => r.status === 409)?.body.error, 'COUPON_ALREADY_USED');
      assert.is((await call(t.app, 'GET', `/products/${p.body.id}`)).body.stock, 9);
      assert.is((await call(t.app, 'GET', `/users/${userId}`)).body.points, 100_000 - 300);
    }
    assert.equal(await invariants(ctx), []);
  });

  it('bad coupon input is a 400 and creates nothing; unknown ids are 404; an order with a coupon not held is 409', async ({ t }) => {
    const [userId] = await users(t, 1, 0);
    const bad = [
      { name: 'x', discountType: 'PERCENT', discountValue: 101, quantity: 1 },
      { name: 'x', discountType: 'FIXED', discountValue: 0, quantity: 1 },
      { name: 'x', discountType: 'FIXED', discountValue: 5, quantity: 0 },
      { name: 'x', discountType: 'HALF', discountValue: 5, quantity: 1 },
      { name: 'x', discountType: 'FIXED', discountValue: 5, quantity: 1, validUntil: 'tomorrow' },
      { name: 'x', discountType: 'FIXED', discountValue: 5, quantity: 1, validFrom: '2030-01-02T00:00:00Z', validUntil: '2030-01-01T00:00:00Z' },
      { name: 'x', discountType: 'FIXED', discountValue: 5, quantity: 1, extra: true },
      { name: 'x', discountType: 'FIXED', discountValue: '5', quantity: 1 },
    ];
    for (const body of bad) {
      const r = await call(t.app, 'POST', '/coupons', body);
      assert.is(r.status, 400, JSON.stringify(body));
      assert.ok(typeof r.body.error === 'string' && typeof r.body.message === 'string');
    }
    assert.is((await call(t.app, 'POST', '/coupons/nope/issue', { userId })).status, 404);
    const id = await coupon(t, { quantity: 3 });
    const unknownUser = await call(t.app, 'POST', `/coupons/${id}/issue`, { userId: 'no-such-user' });
    assert.is(unknownUser.status, 404);
    assert.is((await call(t.app, 'GET', `/coupons/${id}`)).body.issued, 0);
    assert.is((await call(t.app, 'GET', '/users/no-such-user/coupons')).status, 404);
    const p = await call(t.app, 'POST', '/products', { name: 'cup', price: 10, stock: 1 });
    const notHeld = await call(t.app, 'POST', '/orders', { userId, items: [{ productId: p.body.id, quantity: 1 }], couponId: id });
    assert.is(notHeld.status, 409);
    assert.is(notHeld.body.error, 'COUPON_NOT_HELD');
    const expired = await coupon(t, { validUntil: '2020-01-01T00:00:00Z' });
    const late = await call(t.app, 'POST', `/coupons/${expired}/issue`, { userId });
    assert.is(late.status, 409);
    assert.is(late.body.error, 'COUPON_EXPIRED');
    assert.equal((await call(t.app, 'GET', `/users/${userId}/coupons`)).body.items, []);
  });

  it('coupons, holdings and discounts are the same after a restart', async (ctx) => {
    const [a, b] = await users(ctx.t, 2, 5_000);
    const p = await call(ctx.t.app, 'POST', '/products', { name: 'kept', price: 400, stock: 5 });
    const id = await coupon(ctx.t, { quantity: 2, discountValue: 50 });
    for (const userId of [a, b]) assert.is((await call(ctx.t.app, 'POST', `/coupons/${id}/issue`, { userId })).status, 201);
    const o = await call(ctx.t.app, 'POST', '/orders', { userId: a, items: [{ productId: p.body.id, quantity: 1 }], couponId: id });
    assert.is((await call(ctx.t.app, 'POST', `/orders/${o.body.id}/pay`)).status, 200);
    const before = {
      coupon: (await call(ctx.t.app, 'GET', `/coupons/${id}`)).body,
      a: (await call(ctx.t.app, 'GET', `/users/${a}/coupons`)).body,
      b: (await call(ctx.t.app, 'GET', `/users/${b}/coupons`)).body,
    };
    await ctx.t.close();
    ctx.t = await startApp(ctx.db.url);
    const after = {
      coupon: (await call(ctx.t.app, 'GET', `/coupons/${id}`)).body,
      a: (await call(ctx.t.app, 'GET', `/users/${a}/coupons`)).body,
      b: (await call(ctx.t.app, 'GET', `/users/${b}/coupons`)).body,
    };
    assert.equal(after, before);
    // The user actor, rebuilt from the journal, still knows the coupon is used.
    const reuse = await call(ctx.t.app, 'POST', '/orders', { userId: b, items: [{ productId: p.body.id, quantity: 1 }], couponId: id });
    assert.is((await call(ctx.t.app, 'POST', `/orders/${reuse.body.id}/pay`)).status, 200);
    const third = await call(ctx.t.app, 'POST', `/coupons/${id}/issue`, { userId: b });
    assert.is(third.body.error, 'COUPON_ALREADY_ISSUED');
  });

  it.run();
}
