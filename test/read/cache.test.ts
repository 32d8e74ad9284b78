// The read cache never answers a value older than an acknowledged write, and counts hits and misses.

import { setImmediate } from 'node:timers/promises';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { databaseKinds } from '../helpers/databases.js';
import { appSuite, call, startApp, type TestApp } from '../helpers/engine.js';

/** Reads `url` over and over until `stop` says so, so that the cache is filled at every moment. */
function hammer(t: TestApp, url: string, stop: { done: boolean }): Promise<number> {
  return (async () => {
    let reads = 0;
    while (!stop.done) {
      await call(t.app, 'GET', url);
      reads++;
      // A cache hit through app.inject never waits on I/O: let the event loop (and the journal) run.
      await setImmediate();
    }
    return reads;
  })();
}

function counter(metricsText: string, cache: string, result: string): number {
  const line = metricsText.split('\n').find((l) => l.startsWith(`orderengine_cache_lookups_total{cache="${cache}",result="${result}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

for (const kind of databaseKinds()) {
  const it = appSuite(kind, `read cache on ${kind.name}`);

  it('every read after an acknowledged charge or restock shows it, while other readers keep the cache full', async ({ t }) => {
    const u = await call(t.app, 'POST', '/users', { name: 'cached', points: 0 });
    const p = await call(t.app, 'POST', '/products', { name: 'cached', price: 1, stock: 0 });
    const stop = { done: false };
    const readers = [hammer(t, `/users/${u.body.id}`, stop), hammer(t, `/products/${p.body.id}`, stop), hammer(t, `/users/${u.body.id}`, stop)];
    for (let i = 1; i <= 150; i++) {
      const charged = await call(t.app, 'POST', `/users/${u.body.id}/points/charge`, { amount: 1 });
      assert.is(charged.body.points, i);
      assert.is((await call(t.app, 'GET', `/users/${u.body.id}`)).body.points, i, `read after charge ${i}`);
      const restocked = await call(t.app, 'POST', `/products/${p.body.id}/restock`, { quantity: 2 });
      assert.is(restocked.body.stock, 2 * i);
      assert.is((await call(t.app, 'GET', `/products/${p.body.id}`)).body.stock, 2 * i, `read after restock ${i}`);
    }
    stop.done = true;
    const reads = (await Promise.all(readers)).reduce((a, b) => a + b, 0);
    assert.ok(reads > 150, `readers ran alongside (${reads} reads)`);
    const metrics = (await call(t.app, 'GET', '/metrics')).text;
    assert.ok(counter(metrics, 'user', 'hit') > 0, 'user reads hit the cache');
    assert.ok(counter(metrics, 'user', 'miss') > 0, 'user reads missed after writes');
    assert.ok(counter(metrics, 'product', 'hit') > 0, 'product reads hit the cache');
  });

  it('an order read after its payment or cancel is acknowledged shows the new status, and its user and product too', async ({ t }) => {
    const u = await call(t.app, 'POST', '/users', { name: 'reader', points: 1_000 });
    const p = await call(t.app, 'POST', '/products', { name: 'watched', price: 10, stock: 100 });
    let stock = 100;
    let points = 1_000;
    for (let i = 0; i < 20; i++) {
      const o = await call(t.app, 'POST', '/orders', { userId: u.body.id, items: [{ productId: p.body.id, quantity: 1 }] });
      assert.is((await call(t.app, 'GET', `/orders/${o.body.id}`)).body.status, 'CREATED');
      assert.is((await call(t.app, 'GET', `/orders/${o.body.id}`)).body.status, 'CREATED');
      assert.is((await call(t.app, 'POST', `/orders/${o.body.id}/pay`)).body.status, 'PAID');
      stock -= 1;
      points -= 10;
      assert.is((await call(t.app, 'GET', `/orders/${o.body.id}`)).body.status, 'PAID');
      assert.is((await call(t.app, 'GET', `/products/${p.body.id}`)).body.stock, stock);
      assert.is((await call(t.app, 'GET', `/users/${u.body.id}`)).body.points, points);
      if (i % 2 === 0) {
        assert.is((await call(t.app, 'POST', `/orders/${o.body.id}/cancel`)).body.status, 'CANCELLED');
        stock += 1;
        points += 10;
        assert.is((await call(t.app, 'GET', `/orders/${o.body.id}`)).body.status, 'CANCELLED');
        assert.is((await call(t.app, 'GET', `/products/${p.body.id}`)).body.stock, stock);
        assert.is((await call(t.app, 'GET', `/users/${u.body.id}`)).body.points, points);
      }
    }
  });

  it('popular products read after a payment or cancel is acknowledged includes it', async ({ t }) => {
    const u = await call(t.app, 'POST', '/users', { name: 'fan', points: 1_000_000 });
    const p = await call(t.app, 'POST', '/products', { name: 'trending', price: 1, stock: 10_000 });
    const unitsOf = async () => {
      const page = await call(t.app, 'GET', '/products/popular?days=1&limit=100');
      return page.body.items.find((i: { id: string }) => i.id === p.body.id)?.unitsSold ?? 0;
    };
    let expected = 0;
    for (let i = 1; i <= 15; i++) {
      assert.is(await unitsOf(), expected);
      assert.is(await unitsOf(), expected);
      const o = await call(t.app, 'POST', '/orders', { userId: u.body.id, items: [{ productId: p.body.id, quantity: i }] });
      assert.is((await call(t.app, 'POST', `/orders/${o.body.id}/pay`)).status, 200);
      expected += i;
      assert.is(await unitsOf(), expected, `after paying ${i}`);
      if (i % 3 === 0) {
        assert.is((await call(t.app, 'POST', `/orders/${o.body.id}/cancel`)).status, 200);
        expected -= i;
        assert.is(await unitsOf(), expected, `after cancelling ${i}`);
      }
    }
    const metrics = (await call(t.app, 'GET', '/metrics')).text;
    assert.ok(counter(metrics, 'popular', 'hit') > 0, 'popular reads hit the cache between writes');
  });

  it.run();
}

const off = suite('read cache turned off');
off('CACHE_MAX_ENTRIES=0 serves every read from the actors', async () => {
  const [kind] = databaseKinds();
  if (!kind) return;
  const db = await kind.create();
  const t = await startApp(db.url, { CACHE_MAX_ENTRIES: '0' });
  try {
    const u = await call(t.app, 'POST', '/users', { name: 'uncached', points: 3 });
    for (let i = 0; i < 3; i++) assert.is((await call(t.app, 'GET', `/users/${u.body.id}`)).body.points, 3);
    const metrics = (await call(t.app, 'GET', '/metrics')).text;
    assert.is(counter(metrics, 'user', 'hit') + counter(metrics, 'user', 'miss'), 0);
  } finally {
    await t.close();
    await db.drop();
  }
});
off.run();
