// Keyset pages neither skip nor repeat rows while new rows are being written.

import * as assert from 'uvu/assert';
import { databaseKinds } from '../helpers/databases.js';
import { appSuite, call, type TestApp } from '../helpers/engine.js';

/** Follows nextCursor from the first page to the last, one page at a time, calling `between` after each. */
async function allPages(t: TestApp, url: string, between: () => Promise<unknown>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const page = await call(t.app, 'GET', `${url}${sep}limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.is(page.status, 200, JSON.stringify(page.body));
    ids.push(...page.body.items.map((i: { id: string }) => i.id));
    cursor = page.body.nextCursor;
    await between();
    assert.ok(++pages < 1_000, 'pagination ends');
  } while (cursor !== null);
  return ids;
}

function assertOnceEach(seen: string[], existing: string[], what: string): void {
  assert.is(new Set(seen).size, seen.length, `${what}: no row twice`);
  const set = new Set(seen);
  const missing = existing.filter((id) => !set.has(id));
  assert.equal(missing, [], `${what}: every row that existed before paging began is on a page`);
}

for (const kind of databaseKinds()) {
  const it = appSuite(kind, `pagination under writes on ${kind.name}`);

  it("a user's orders, orders by status, and users: each page while orders and users are created", async ({ t }) => {
    const u = await call(t.app, 'POST', '/users', { name: 'pager', points: 1_000_000 });
    const p = await call(t.app, 'POST', '/products', { name: 'paged', price: 1, stock: 1_000_000 });
    const order = () => call(t.app, 'POST', '/orders', { userId: u.body.id, items: [{ productId: p.body.id, quantity: 1 }] });
    const existingOrders: string[] = [];
    for (let i = 0; i < 60; i++) existingOrders.push((await order()).body.id);
    // Some paid, so that the status list has rows moving out of it too.
    for (const id of existingOrders.slice(0, 20)) assert.is((await call(t.app, 'POST', `/orders/${id}/pay`)).status, 200);
    const existingUsers = (await Promise.all(Array.from({ length: 40 }, (_, i) => call(t.app, 'POST', '/users', { name: `page-${i}`, points: 0 })))).map(
      (r) => r.body.id as string,
    );

    // Between pages, three new orders for the same user and two new users commit.
    const write = async () => {
      await Promise.all([order(), order(), order(), call(t.app, 'POST', '/users', { name: 'late', points: 0 }), call(t.app, 'POST', '/users', { name: 'late', points: 0 })]);
    };
    assertOnceEach(await allPages(t, `/users/${u.body.id}/orders`, write), existingOrders, "user's orders");
    const created = existingOrders.slice(20);
    assertOnceEach(await allPages(t, '/orders?status=CREATED&days=1', write), created, 'CREATED orders');
    const paid = existingOrders.slice(0, 20);
    const paidSeen = await allPages(t, '/orders?status=PAID&days=1', async () => {
      await write();
    });
    assertOnceEach(paidSeen, paid, 'PAID orders');
    assertOnceEach(await allPages(t, '/users', write), [u.body.id, ...existingUsers], 'users');
  });

  it('pages come newest first and a cursor from another list or a forged one is refused', async ({ t }) => {
    const u = await call(t.app, 'POST', '/users', { name: 'order-of-pages', points: 0 });
    const p = await call(t.app, 'POST', '/products', { name: 'x', price: 1, stock: 100 });
    for (let i = 0; i < 9; i++) await call(t.app, 'POST', '/orders', { userId: u.body.id, items: [{ productId: p.body.id, quantity: 1 }] });
    const ids = await allPages(t, `/users/${u.body.id}/orders`, async () => {});
    const orders = await Promise.all(ids.map(async (id) => (await call(t.app, 'GET', `/orders/${id}`)).body));
    for (let i = 1; i < orders.length; i++) {
      const [a, b] = [orders[i - 1], orders[i]];
      assert.ok(a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id), 'newest first');
    }
    const usersPage = await call(t.app, 'GET', '/users?limit=1');
    const wrongList = await call(t.app, 'GET', `/users/${u.body.id}/orders?cursor=${usersPage.body.nextCursor}`);
    assert.is(wrongList.status, 400);
    assert.is(wrongList.body.error, 'BAD_CURSOR');
    assert.is((await call(t.app, 'GET', '/orders?status=PAID&cursor=bm90LWpzb24')).status, 400);
  });

  it.run();
}
