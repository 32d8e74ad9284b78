// The admin API the admin page reads: overview, an actor's journal paged, an order's timeline, stuck sagas and claims, resume now; on every database.

import * as assert from 'uvu/assert';
import type { OutboxTable } from '../../src/db/schema.js';
import { buildApp } from '../../src/http/app.js';
import type { AppendEntry } from '../../src/journal/journal.js';
import { SqlJournalStore } from '../../src/journal/sql-journal-store.js';
import { Metrics } from '../../src/metrics.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { appOptions, call, startAppWith, type TestApp } from '../helpers/engine.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';

/**
 * Fails every batch holding an event of a refused type (`type`) or of a refused type for one command id
 * (`type:ref`), writing nothing of it: the actors that appended them stall.
 */
class RefusingStore extends SqlJournalStore {
  refused = new Set<string>();

  override async writeBatch(entries: readonly AppendEntry[], outbox?: readonly OutboxTable[], inOrder?: { chain: number }): Promise<void> {
    const refused = (type: string, ref: string | null) => this.refused.has(type) || this.refused.has(`${type}:${ref}`);
    if (entries.some((e) => e.events.some((ev) => refused(ev.type, ev.ref)))) throw new Error('injected batch failure');
    return super.writeBatch(entries, outbox, inOrder);
  }
}

const admin = { authorization: 'Bearer test-token' };
const paths: Array<[method: string, url: string]> = [
  ['GET', '/admin/overview'],
  ['GET', '/admin/actors/user/u1/events'],
  ['GET', '/admin/orders/o1/timeline'],
  ['GET', '/admin/stuck/orders'],
  ['GET', '/admin/stuck/claims'],
  ['POST', '/admin/orders/o1/resume'],
  ['POST', '/admin/users/u1/resume-claims'],
];

for (const kind of databaseKinds()) {
  const it = suite<{ db: TestDatabase; t: TestApp; store: RefusingStore }>(`admin page API (${kind.name})`, { needs: kind.needs });
  it.before(async (ctx) => {
    ctx.db = await kind.create();
    // One event per batch, so that a saga's first step commits apart from the step a test refuses;
    // no sweeper, so that only "resume now" resumes.
    ctx.t = await startAppWith(ctx.db.url, { JOURNAL_MAX_BATCH: '1', SWEEP_INTERVAL_MS: '3600000' }, (database) => (ctx.store = new RefusingStore(database)));
  });
  it.after(async (ctx) => {
    await ctx.t?.close().catch(() => undefined);
    await ctx.db?.drop();
  });

  const create = async (t: TestApp, path: string, body: unknown) => {
    const created = await call(t.app, 'POST', path, body);
    assert.is(created.status, 201, JSON.stringify(created.body));
    return created.body.id as string;
  };

  it('every new endpoint answers 401 without the token or with a wrong one, and 403 when the admin API is off', async ({ t }) => {
    const off = await buildApp(appOptions(t.engine, new Metrics(), { adminToken: undefined }));
    for (const [method, url] of paths) {
      const none = await call(t.app, method, url);
      assert.is(none.status, 401, `${method} ${url}`);
      assert.is(none.body.error, 'UNAUTHORIZED');
      assert.is((await call(t.app, method, url, undefined, { authorization: 'Bearer wrong' })).status, 401, `${method} ${url}`);
      assert.is((await call(off, method, url, undefined, admin)).status, 403, `${method} ${url}`);
    }
    await off.close();
  });

  it('every new endpoint is in the OpenAPI document, behind the bearer token', async ({ t }) => {
    const doc = (await call(t.app, 'GET', '/docs/json')).body;
    for (const [method, url] of paths) {
      const path = url.replace('/user/u1/', '/{kind}/{id}/').replace(/\/(o1|u1)\//, '/{id}/');
      const operation = doc.paths[path]?.[method.toLowerCase()];
      assert.ok(operation, `${method} ${path} documented`);
      assert.equal(operation.security, [{ bearer: [] }], `${method} ${path}`);
    }
  });

  it("an actor's events come newest first, page by cursor, and stay readable once it is passivated", async ({ t }) => {
    const id = await create(t, '/products', { name: 'lamp', price: 300, stock: 5 });
    for (const quantity of [1, 2, 3]) assert.is((await call(t.app, 'POST', `/products/${id}/restock`, { quantity })).status, 200);
    const first = await call(t.app, 'GET', `/admin/actors/product/${id}/events?limit=3`, undefined, admin);
    assert.is(first.status, 200);
    assert.equal(first.body.items.map((e: any) => [e.sequenceNr, e.type]), [[4, 'Restocked'], [3, 'Restocked'], [2, 'Restocked']]);
    assert.is(first.body.items[0].event.quantity, 3);
    assert.match(first.body.items[0].at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.is(first.body.nextCursor, '2');
    const rest = await call(t.app, 'GET', `/admin/actors/product/${id}/events?limit=3&cursor=${first.body.nextCursor}`, undefined, admin);
    assert.equal(rest.body.items.map((e: any) => e.type), ['ProductCreated']);
    assert.is(rest.body.nextCursor, null);

    await until(async () => (await call(t.app, 'POST', `/admin/actors/product/${id}/passivate`, undefined, admin)).status === 200, 'the product is passivated');
    assert.not.ok(t.engine.liveActors().some((a) => a.id === id));
    assert.is((await call(t.app, 'GET', `/admin/actors/product/${id}/events`, undefined, admin)).body.items.length, 4);
    assert.not.ok(t.engine.liveActors().some((a) => a.id === id), 'reading the journal does not activate the actor');
  });

  it("an actor's events: unknown actor 404, bad kind, cursor or limit 400", async ({ t }) => {
    const unknown = await call(t.app, 'GET', '/admin/actors/user/nobody/events', undefined, admin);
    assert.is(unknown.status, 404);
    assert.is(unknown.body.error, 'NOT_FOUND');
    for (const url of ['/admin/actors/coupon-x/u1/events', '/admin/actors/user/u1/events?cursor=abc', '/admin/actors/user/u1/events?limit=0', '/admin/actors/user/u1/events?limit=101', '/admin/actors/user/u1/events?other=1', '/admin/actors/user/a%20b/events']) {
      const bad = await call(t.app, 'GET', url, undefined, admin);
      assert.is(bad.status, 400, url);
      assert.is(bad.body.error, 'BAD_REQUEST', url);
    }
  });

  it("an order's timeline: every step of the payment on the order, its products and its user, with its batch", async ({ t, db }) => {
    const user = await create(t, '/users', { name: 'ada', points: 1000 });
    const lamp = await create(t, '/products', { name: 'lamp', price: 100, stock: 5 });
    const desk = await create(t, '/products', { name: 'desk', price: 200, stock: 5 });
    const order = await create(t, '/orders', { userId: user, items: [{ productId: lamp, quantity: 2 }, { productId: desk, quantity: 1 }] });
    assert.is((await call(t.app, 'POST', `/orders/${order}/pay`)).status, 200);
    const timeline = await call(t.app, 'GET', `/admin/orders/${order}/timeline`, undefined, admin);
    assert.is(timeline.status, 200);
    assert.is(timeline.body.status, 'PAID');
    const steps = timeline.body.steps as any[];
    assert.equal(steps.map((s) => s.step).slice(0, 2), ['created', 'payment-started']);
    assert.equal(steps.map((s) => s.step).slice(2, 4).sort(), ['reserve', 'reserve']);
    assert.equal(steps.map((s) => s.step).slice(4), ['debit', 'paid']);
    assert.equal(steps.filter((s) => s.step === 'reserve').map((s) => s.actor.id).sort(), [lamp, desk].sort());
    assert.equal(steps.find((s) => s.step === 'debit').actor, { kind: 'user', id: user });
    assert.ok(steps.every((s) => s.outcome === 'ok' && Date.parse(s.at) > 0));
    for (let i = 1; i < steps.length; i++) assert.ok(steps[i].at >= steps[i - 1].at, 'oldest first');
    // PostgreSQL and PGlite name each step's batch by its transaction; MySQL does not expose one.
    if (db.name === 'mysql') assert.ok(steps.every((s) => s.batch === null));
    else assert.ok(steps.every((s) => typeof s.batch === 'string' && s.batch.length > 0));
  });

  it("an order's timeline shows a failed payment with its reason; an unknown order is 404", async ({ t }) => {
    const user = await create(t, '/users', { name: 'bob', points: 1000 });
    const lamp = await create(t, '/products', { name: 'lamp', price: 100, stock: 1 });
    const order = await create(t, '/orders', { userId: user, items: [{ productId: lamp, quantity: 2 }] });
    assert.is((await call(t.app, 'POST', `/orders/${order}/pay`)).status, 409);
    const steps = (await call(t.app, 'GET', `/admin/orders/${order}/timeline`, undefined, admin)).body.steps as any[];
    assert.equal(steps.map((s) => s.step), ['created', 'payment-started', 'failed']);
    assert.is(steps[2].outcome, 'INSUFFICIENT_STOCK');
    assert.is((await call(t.app, 'GET', '/admin/orders/nope/timeline', undefined, admin)).status, 404);
    assert.is((await call(t.app, 'GET', '/admin/orders/a%20b/timeline', undefined, admin)).status, 400);
  });

  it('a saga left PAYING is listed as stuck, pages by cursor, and "resume now" finishes it', async ({ t, store }) => {
    const user = await create(t, '/users', { name: 'cy', points: 1000 });
    const lamp = await create(t, '/products', { name: 'lamp', price: 100, stock: 10 });
    const orders = [
      await create(t, '/orders', { userId: user, items: [{ productId: lamp, quantity: 1 }] }),
      await create(t, '/orders', { userId: user, items: [{ productId: lamp, quantity: 2 }] }),
    ];
    // Reservations are refused until the orders have been listed: a stalled order that is rebuilt
    // (any message to it does that) goes on by itself, and must stall again until then.
    store.refused = new Set(orders.map((order) => `StockReserved:${order}`));
    for (const order of orders) assert.is((await call(t.app, 'POST', `/orders/${order}/pay`)).status, 503);
    // A refused batch also fails what is queued behind it, which may be the other order's PaymentStarted:
    // such an order is still CREATED, and is paid (and refused) again until it is left PAYING.
    await until(async () => {
      const stuck = (await call(t.app, 'GET', '/admin/stuck/orders?olderThanSeconds=0', undefined, admin)).body.items.map((o: any) => o.id);
      const missing = orders.filter((order) => !stuck.includes(order));
      for (const order of missing) await call(t.app, 'POST', `/orders/${order}/pay`);
      return missing.length === 0;
    }, 'both orders are left PAYING');
    const first = await call(t.app, 'GET', '/admin/stuck/orders?olderThanSeconds=0&limit=1', undefined, admin);
    assert.is(first.status, 200);
    assert.is(first.body.items.length, 1);
    assert.ok(first.body.nextCursor);
    const second = await call(t.app, 'GET', `/admin/stuck/orders?olderThanSeconds=0&limit=1&cursor=${first.body.nextCursor}`, undefined, admin);
    const listed = [...first.body.items, ...second.body.items];
    assert.equal(listed.map((o: any) => o.id).sort(), [...orders].sort());
    assert.ok(listed.every((o: any) => o.status === 'PAYING' && o.userId === user));
    assert.is((await call(t.app, 'GET', '/admin/stuck/orders?olderThanSeconds=3600', undefined, admin)).body.items.length, 0, 'not older than an hour');

    // Nothing is refused from here on: a batch that fails also fails every append queued behind it, whoever made it.
    store.refused.clear();
    const resumed = await call(t.app, 'POST', `/admin/orders/${orders[0]}/resume`, undefined, admin);
    assert.is(resumed.status, 200);
    assert.equal(resumed.body, { id: orders[0], status: 'PAYING', resumed: true });
    await until(async () => (await call(t.app, 'GET', `/orders/${orders[0]}`)).body.status === 'PAID', 'the resumed order is paid');
    const again = await call(t.app, 'POST', `/admin/orders/${orders[0]}/resume`, undefined, admin);
    assert.equal(again.body, { id: orders[0], status: 'PAID', resumed: false });

    assert.is((await call(t.app, 'POST', `/admin/orders/${orders[1]}/resume`, undefined, admin)).status, 200);
    await until(async () => (await call(t.app, 'GET', `/orders/${orders[1]}`)).body.status === 'PAID', 'the second order is paid');
    assert.is((await call(t.app, 'GET', `/products/${lamp}`)).body.stock, 7);
    assert.is((await call(t.app, 'GET', `/users/${user}`)).body.points, 700);
    assert.is((await call(t.app, 'GET', '/admin/stuck/orders?olderThanSeconds=0', undefined, admin)).body.items.length, 0);
  });

  it('stuck work: bad threshold, limit or cursor 400 and unknown ids 404, changing nothing', async ({ t }) => {
    for (const url of ['/admin/stuck/orders?olderThanSeconds=-1', '/admin/stuck/orders?limit=0', '/admin/stuck/orders?cursor=nope', '/admin/stuck/claims?cursor=WzEsMl0', '/admin/stuck/claims?olderThanSeconds=x']) {
      const bad = await call(t.app, 'GET', url, undefined, admin);
      assert.is(bad.status, 400, url);
      assert.ok(['BAD_REQUEST', 'BAD_CURSOR'].includes(bad.body.error), url);
    }
    assert.is((await call(t.app, 'POST', '/admin/orders/nope/resume', undefined, admin)).status, 404);
    assert.is((await call(t.app, 'POST', '/admin/users/nobody/resume-claims', undefined, admin)).status, 404);
    assert.is((await call(t.app, 'POST', '/admin/orders/a%20b/resume', undefined, admin)).status, 400);
    assert.not.ok(t.engine.liveActors().some((a) => a.id === 'nope' || a.id === 'nobody'), 'no actor activated for an unknown id');
  });

  it('a coupon claim left open is listed, and "resume now" issues the coupon', async ({ t, store }) => {
    const user = await create(t, '/users', { name: 'dee', points: 0 });
    const coupon = await create(t, '/coupons', { name: 'ten off', discountType: 'FIXED', discountValue: 10, quantity: 5 });
    store.refused = new Set(['CouponIssued']);
    assert.is((await call(t.app, 'POST', `/coupons/${coupon}/issue`, { userId: user })).status, 503);
    const open = await call(t.app, 'GET', '/admin/stuck/claims?olderThanSeconds=0', undefined, admin);
    assert.equal(open.body.items.map((c: any) => [c.userId, c.couponId]), [[user, coupon]]);
    store.refused.clear();

    const resumed = await call(t.app, 'POST', `/admin/users/${user}/resume-claims`, undefined, admin);
    assert.equal(resumed.body, { userId: user, openClaims: 1, resumed: true });
    await until(async () => (await call(t.app, 'GET', `/users/${user}/coupons`)).body.items.some((c: any) => c.couponId === coupon && c.status === 'ISSUED'), 'the coupon is issued');
    assert.is((await call(t.app, 'GET', '/admin/stuck/claims?olderThanSeconds=0', undefined, admin)).body.items.length, 0);
    assert.equal((await call(t.app, 'POST', `/admin/users/${user}/resume-claims`, undefined, admin)).body, { userId: user, openClaims: 0, resumed: false });
  });

  it('the overview counts live actors against the cap and reads the journal, cache and outbox figures', async ({ t }) => {
    await create(t, '/users', { name: 'eve', points: 5 });
    const overview = await call(t.app, 'GET', '/admin/overview', undefined, admin);
    assert.is(overview.status, 200);
    const body = overview.body;
    assert.is(body.actors.cap, t.engine.config.actors.maxLive);
    assert.is(body.actors.total, t.engine.liveActors().length);
    assert.ok(body.actors.live.user >= 1);
    assert.ok(Array.isArray(body.actors.deepestMailboxes));
    assert.ok(body.journal.batches > 0 && body.journal.events >= body.journal.batches);
    assert.ok(body.journal.failedBatches > 0, 'the refused batches of the tests before are counted');
    assert.ok(body.http.inFlight >= 1, 'this request is in flight');
    assert.type(body.eventLoop.lagSeconds, 'number');
    assert.type(body.cache.hits, 'number');
    assert.equal(body.outbox.sinks, []);
    assert.is(body.outbox.deadLetters, 0);
  });

  it.run();
}
