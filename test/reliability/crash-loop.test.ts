// SIGKILL at seeded random moments of a flash sale with coupons, five times in a row: after each restart every acknowledged payment and claim is there, once, and the invariants hold.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { appliedTwice } from '../helpers/applied-once.js';
import { http, startEngineProcess, type EngineProcess } from '../helpers/child.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { checkInvariants } from '../helpers/invariants.js';
import { until } from '../helpers/until.js';
import { checkCoupon, claimLoad, heldCoupon, scarceCoupon } from '../helpers/coupon-load.js';
import { payLoad } from '../helpers/pay-load.js';
import { prng } from '../helpers/prng.js';
import { testSeed } from '../helpers/seed.js';

const ROUNDS = 5;
const STOCK = 150;
const PLENTY = 1_000_000;
const POINTS = 500;
/** Buyers holding a coupon before the sale; each has two orders that carry it, so one of them must not get it. */
const HOLDERS = 12;
/** A coupon claimed by every buyer at once while the engine is killed. */
const RUSH = 15;
const ENV = { SWEEP_INTERVAL_MS: '200', SNAPSHOT_EVERY: '40' };

interface Sale {
  readonly scarce: string;
  readonly plenty: string;
  readonly users: string[];
  readonly orders: string[];
  readonly held: string;
  readonly rush: string;
}

/**
 * One scarce product, three times as many orders as its stock, a third of them also buying a
 * plentiful one; the first buyers hold a coupon that two of their orders carry.
 */
async function seed(url: string): Promise<Sale> {
  const scarce = (await http(url, 'POST', '/products', { name: 'scarce', price: 20, stock: STOCK })).body.id;
  const plenty = (await http(url, 'POST', '/products', { name: 'plenty', price: 3, stock: PLENTY })).body.id;
  const users = (await Promise.all(Array.from({ length: 40 }, (_, i) => http(url, 'POST', '/users', { name: `buyer-${i}`, points: POINTS })))).map((u) => u.body.id);
  const held = await heldCoupon(url, users.slice(0, HOLDERS));
  const rush = await scarceCoupon(url, RUSH);
  const orders: string[] = [];
  for (let start = 0; start < STOCK * 3; start += 50) {
    const batch = await Promise.all(
      Array.from({ length: 50 }, (_, k) => {
        const i = start + k;
        const items = [{ productId: scarce, quantity: 1 }, ...(i % 3 === 0 ? [{ productId: plenty, quantity: 2 }] : [])];
        const coupon = i % users.length < HOLDERS && i < 2 * users.length ? { couponId: held } : {};
        return http(url, 'POST', '/orders', { userId: users[i % users.length], items, ...coupon });
      }),
    );
    for (const o of batch) {
      assert.is(o.status, 201);
      orders.push(o.body.id);
    }
  }
  return { scarce, plenty, users, orders, held, rush };
}

/**
 * Reads every order back through the engine (each one asked for must come back): acknowledged
 * ones are PAID, none is mid-saga, stock and points add up, a held coupon pays one order only.
 */
async function checkThroughEngine(url: string, sale: Sale, acknowledged: ReadonlySet<string>): Promise<{ paid: number; withCoupon: number }> {
  const sold = new Map<string, number>();
  const spent = new Map<string, number>();
  const couponUses = new Map<string, number>();
  const seen = new Set<string>();
  let paid = 0;
  for (let start = 0; start < sale.orders.length; start += 100) {
    const page = await http(url, 'GET', `/orders?ids=${sale.orders.slice(start, start + 100).join(',')}`);
    for (const order of page.body.items as Array<{ id: string; status: string; userId: string; total: number; couponId?: string | null; items: Array<{ productId: string; quantity: number }> }>) {
      seen.add(order.id);
      assert.ok(['CREATED', 'PAID', 'FAILED'].includes(order.status), `order ${order.id} is ${order.status}`);
      if (acknowledged.has(order.id)) assert.is(order.status, 'PAID', `acknowledged order ${order.id}`);
      if (order.status !== 'PAID') continue;
      paid++;
      if (order.couponId) couponUses.set(order.userId, (couponUses.get(order.userId) ?? 0) + 1);
      spent.set(order.userId, (spent.get(order.userId) ?? 0) + order.total);
      for (const item of order.items) sold.set(item.productId, (sold.get(item.productId) ?? 0) + item.quantity);
    }
  }
  assert.equal(sale.orders.filter((id) => !seen.has(id)), [], 'every order of the sale reads back');
  for (const [userId, uses] of couponUses) assert.is(uses, 1, `user ${userId} paid ${uses} orders with one coupon`);
  assert.is((await http(url, 'GET', `/products/${sale.scarce}`)).body.stock, STOCK - (sold.get(sale.scarce) ?? 0), 'scarce stock');
  assert.is((await http(url, 'GET', `/products/${sale.plenty}`)).body.stock, PLENTY - (sold.get(sale.plenty) ?? 0), 'plentiful stock');
  const users = (await http(url, 'GET', '/users?limit=100')).body.items as Array<{ id: string; points: number }>;
  assert.is(users.length, sale.users.length);
  for (const u of users) assert.is(u.points, POINTS - (spent.get(u.id) ?? 0), `points of ${u.id}`);
  return { paid, withCoupon: couponUses.size };
}

const untilSettled = (url: string): Promise<void> =>
  until(async () => (await http(url, 'GET', '/orders?status=PAYING&days=1&limit=1')).body.items.length === 0, 'interrupted sagas finish after the restart', 60_000, 50);

for (const [index, kind] of databaseKinds().entries()) {
  const it = suite<{ db: TestDatabase; engine?: EngineProcess }>(`crash loop on ${kind.name}`, { needs: kind.needs });
  it.before(async (ctx) => {
    ctx.db = await kind.create();
  });
  it.after(async (ctx) => {
    await ctx.engine?.kill().catch(() => undefined);
    await ctx.db?.drop();
  });

  it(`SIGKILL ${ROUNDS} times during a flash sale: after each restart acknowledged pays are there, none twice, invariants hold`, async (ctx) => {
    const seed0 = testSeed(`crash loop on ${kind.name}`) + index;
    const random = prng(seed0);
    let engine = (ctx.engine = await startEngineProcess(ctx.db.url, ENV));
    const sale = await seed(engine.url);
    const acknowledged = new Set<string>();
    const refused = new Set<string>();
    const claimed = new Set<string>();
    const claimRefused = new Set<string>();
    const kills: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const open = sale.orders.filter((id) => !acknowledged.has(id) && !refused.has(id));
      const load = payLoad(engine.url, open, { workers: 32, retryDelayMs: 10 });
      const claims = claimLoad(engine.url, sale.rush, sale.users.filter((u) => !claimed.has(u) && !claimRefused.has(u)));
      // The kill lands once a seeded share of this round's pays is answered: work is always in flight then.
      const answersBeforeKill = 1 + Math.floor(random() * 0.4 * open.length);
      await until(() => load.acknowledged.size + load.refused.size >= answersBeforeKill, `${answersBeforeKill} pays answered in round ${round}`);
      const inFlight = load.inFlight;
      await engine.kill();
      kills.push(`${answersBeforeKill} answered/${inFlight} in flight`);
      assert.ok(inFlight > 0, `pays were in flight when kill ${round} landed (seed ${seed0})`);
      await load.done;
      await claims.done;
      for (const id of load.acknowledged) acknowledged.add(id);
      for (const id of load.refused) refused.add(id);
      for (const id of claims.issued) claimed.add(id);
      for (const id of claims.refused) claimRefused.add(id);

      engine = ctx.engine = await startEngineProcess(ctx.db.url, ENV);
      await untilSettled(engine.url);
      const { paid } = await checkThroughEngine(engine.url, sale, acknowledged);
      assert.ok(paid >= acknowledged.size);
      assert.ok(paid <= STOCK, `never oversold: ${paid} paid of ${STOCK}`);
      await checkCoupon(engine.url, sale.rush, sale.users, claimed);
      await checkCoupon(engine.url, sale.held, sale.users, new Set(sale.users.slice(0, HOLDERS)));
      if (kind.name !== 'pglite') {
        // A server database can be read beside the running engine (PGlite only once it has stopped).
        assert.equal((await checkInvariants(ctx.db.url)).problems, [], `invariants after kill ${round}`);
        assert.equal(await appliedTwice(ctx.db.url), [], `nothing applied twice after kill ${round}`);
      }
    }
    assert.ok(acknowledged.size > 0, `some pays were acknowledged before the kills (seed ${seed0}, kills at ${kills.join(', ')})`);

    // What is left of the sale goes through after the last restart.
    const rest = payLoad(
      engine.url,
      sale.orders.filter((id) => !acknowledged.has(id) && !refused.has(id)),
      { workers: 32, retryDelayMs: 10 },
    );
    await rest.done;
    for (const id of rest.acknowledged) acknowledged.add(id);
    await untilSettled(engine.url);
    const rush = claimLoad(engine.url, sale.rush, sale.users.filter((u) => !claimed.has(u) && !claimRefused.has(u)));
    await rush.done;
    for (const id of rush.issued) claimed.add(id);
    const { paid, withCoupon } = await checkThroughEngine(engine.url, sale, acknowledged);
    assert.is(paid, STOCK, 'the sale sells out exactly');
    assert.ok(withCoupon > 0, 'some paid orders used the held coupon');
    assert.is((await checkCoupon(engine.url, sale.rush, sale.users, claimed)).issued, RUSH, 'the rush coupon is all issued, once each');
    assert.is(await engine.stop(), 0);
    ctx.engine = undefined;
    const report = await checkInvariants(ctx.db.url);
    assert.equal(report.problems, []);
    assert.is(report.coupons.templates, 2);
    assert.is(report.coupons.issued, HOLDERS + RUSH);
    assert.is(report.coupons.used, withCoupon, 'coupons used by paid orders, as the engine showed them');
    assert.equal(await appliedTwice(ctx.db.url), []);
    console.log(`  crash loop on ${kind.name}: kills after ${kills.join(', ')}; ${acknowledged.size} paid, ${claimed.size} claims answered 201`);
  });

  it.run();
}
