// Ids never created cost nothing: a flood of reads, commands and admin calls for random ids answers 404 without activating an actor, and the real actors stay live under a small cap.

import type { FastifyInstance } from 'fastify';
import * as assert from 'uvu/assert';
import { databaseKinds } from '../helpers/databases.js';
import { appSuite, call } from '../helpers/engine.js';
import { prng } from '../helpers/prng.js';

const CAP = 10;
const FLOOD = 200;
const admin = { authorization: 'Bearer test-token' };

for (const kind of databaseKinds()) {
  const it = appSuite(kind, `unknown ids on ${kind.name}`, { ACTORS_MAX_LIVE: String(CAP) });

  /** The actor counters as /metrics shows them: activations and passivations, all kinds summed. */
  const counters = async (app: FastifyInstance) => {
    const text = (await call(app, 'GET', '/metrics')).text;
    const sum = (name: string) => [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
    return { activations: sum('orderengine_actor_activations_total'), passivations: sum('orderengine_actor_passivations_total') };
  };

  it(`${FLOOD} random ids across every read, command and admin call answer 404, activate nothing and push no real actor out`, async ({ t }) => {
    const { app, engine } = t;
    const user = (await call(app, 'POST', '/users', { name: 'real', points: 100 })).body;
    const product = (await call(app, 'POST', '/products', { name: 'real-p', price: 1, stock: 10 })).body;
    const coupon = (await call(app, 'POST', '/coupons', { name: 'real-c', discountType: 'FIXED', discountValue: 1, quantity: 3 })).body;
    const order = (await call(app, 'POST', '/orders', { userId: user.id, items: [{ productId: product.id, quantity: 1 }] })).body;
    const live = () => engine.liveActors().map((a) => `${a.kind}-${a.id}`).sort();
    const before = live();
    assert.is(before.length, 4);
    const counted = await counters(app);

    const random = prng(19);
    const id = () => `ghost-${Math.floor(random() * 1e12).toString(36)}`;
    const calls: Array<() => ReturnType<typeof call>> = [
      () => call(app, 'GET', `/users/${id()}`),
      () => call(app, 'GET', `/products/${id()}`),
      () => call(app, 'GET', `/orders/${id()}`),
      () => call(app, 'GET', `/coupons/${id()}`),
      () => call(app, 'GET', `/users/${id()}/coupons`),
      () => call(app, 'POST', `/users/${id()}/points/charge`, { amount: 1 }),
      () => call(app, 'POST', `/products/${id()}/restock`, { quantity: 1 }),
      () => call(app, 'POST', `/orders/${id()}/pay`),
      () => call(app, 'POST', `/orders/${id()}/cancel`),
      () => call(app, 'POST', `/coupons/${id()}/issue`, { userId: user.id }),
      () => call(app, 'POST', `/coupons/${coupon.id}/issue`, { userId: id() }),
      () => call(app, 'POST', '/orders', { userId: id(), items: [{ productId: product.id, quantity: 1 }] }),
      () => call(app, 'POST', '/orders', { userId: user.id, items: [{ productId: id(), quantity: 1 }] }),
      () => call(app, 'GET', `/admin/actors/user/${id()}`, undefined, admin),
      () => call(app, 'GET', `/admin/actors/coupon/${id()}`, undefined, admin),
      () => call(app, 'POST', `/admin/actors/product/${id()}/snapshot`, undefined, admin),
      () => call(app, 'POST', `/admin/actors/order/${id()}/passivate`, undefined, admin),
    ];
    for (let i = 0; i < FLOOD; i++) {
      const answer = await calls[i % calls.length]!();
      assert.is(answer.status, 404, `call ${i % calls.length}: ${answer.text}`);
      assert.is(answer.body.error, 'NOT_FOUND');
    }
    assert.equal(live(), before);
    assert.equal(await counters(app), counted);
    assert.is((await call(app, 'GET', `/products/${product.id}`)).body.stock, 10);
    assert.is((await call(app, 'GET', `/orders/${order.id}`)).body.status, 'CREATED');
  });

  it('admin: every kind is inspectable, coupon included; passivating an actor that is not live is a 200 no-op', async ({ t }) => {
    const { app, engine } = t;
    const coupon = (await call(app, 'POST', '/coupons', { name: 'inspect-c', discountType: 'PERCENT', discountValue: 5, quantity: 2 })).body;
    const inspected = await call(app, 'GET', `/admin/actors/coupon/${coupon.id}`, undefined, admin);
    assert.is(inspected.status, 200);
    assert.is(inspected.body.committed.quantity, 2);
    const first = await call(app, 'POST', `/admin/actors/coupon/${coupon.id}/passivate`, undefined, admin);
    assert.equal(first.body, { kind: 'coupon', id: coupon.id, passivated: true });
    const again = await call(app, 'POST', `/admin/actors/coupon/${coupon.id}/passivate`, undefined, admin);
    assert.is(again.status, 200);
    assert.equal(again.body, { kind: 'coupon', id: coupon.id, passivated: false });
    assert.not.ok(engine.liveActors().some((a) => a.id === coupon.id));
  });

  it('the admin list of live actors pages by cursor, every live actor once', async ({ t }) => {
    const { app, engine } = t;
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { body: { items: Array<{ kind: string; id: string }>; nextCursor: string | null } } = await call(app, 'GET', `/admin/actors?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`, undefined, admin);
      seen.push(...page.body.items.map((a) => `${a.kind}-${a.id}`));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor !== null && pages < 100);
    const live = engine.liveActors().map((a) => `${a.kind}-${a.id}`);
    assert.ok(live.length > 2);
    assert.equal(seen.sort(), live.sort());
    assert.is((await call(app, 'GET', '/admin/actors?cursor=abc', undefined, admin)).status, 400);
  });

  it.run();
}
