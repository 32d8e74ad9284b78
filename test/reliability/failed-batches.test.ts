// Batches that fail now and then while the database stays up: no saga may finish on work a failed batch lost.

import type { OutboxTable } from '../../src/db/schema.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';
import * as assert from 'uvu/assert';
import type { AppendEntry } from '../../src/journal/journal.js';
import { SqlJournalStore } from '../../src/journal/sql-journal-store.js';
import { DelegatingJournalStore } from '../helpers/delegating-journal-store.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { call, startAppWith, type TestApp } from '../helpers/engine.js';
import { checkInvariants } from '../helpers/invariants.js';
import { prng } from '../helpers/prng.js';

/** Fails the first batch holding an event of the armed types, then a seeded share of the later ones, without writing anything. */
class FlakyStore extends DelegatingJournalStore {
  failures = 0;
  types = new Set<string>();
  random = prng(1);

  arm(seed: number, types: readonly string[]): void {
    this.random = prng(seed);
    this.types = new Set(types);
    this.failures = 0;
  }

  override async writeBatch(entries: readonly AppendEntry[], outbox?: readonly OutboxTable[], inOrder?: { chain: number }): Promise<void> {
    const hit = entries.some((e) => e.events.some((ev) => this.types.has(ev.type)));
    if (hit && (this.failures === 0 || this.random() < 0.3)) {
      this.failures++;
      throw new Error('injected batch failure');
    }
    return super.writeBatch(entries, outbox, inOrder);
  }
}

const rounds: Array<{ seed: number; types: string[] }> = [
  { seed: 7, types: ['StockReserved'] },
  { seed: 11, types: ['PointsDebited'] },
  { seed: 13, types: ['PaymentStarted'] },
  { seed: 17, types: ['StockReserved', 'PointsDebited', 'PaymentStarted', 'OrderPaid', 'StockReleased'] },
];
const STOCK = 40;
const POINTS = 120;

const [pglite] = databaseKinds();
const it = suite<{ db: TestDatabase; t: TestApp; store: FlakyStore }>('failed batches');
// One engine for every round: a fresh PGlite costs seconds.
it.before(async (ctx) => {
  ctx.db = await pglite!.create();
  ctx.t = await startAppWith(ctx.db.url, { SWEEP_INTERVAL_MS: '50' }, (database) => (ctx.store = new FlakyStore(new SqlJournalStore(database))));
});
it.after(async (ctx) => {
  await ctx.t?.close().catch(() => undefined);
  await ctx.db?.drop();
});

for (const { seed, types } of rounds) {
  it(`failing batches holding ${types.join(', ')} (seed ${seed}): a 200 pay is paid, stock and points add up`, async ({ t, store }) => {
    const { app } = t;
    const products = await Promise.all(Array.from({ length: 3 }, (_, i) => call(app, 'POST', '/products', { name: `p${i}`, price: 5 + i, stock: STOCK })));
    const users = await Promise.all(Array.from({ length: 12 }, (_, i) => call(app, 'POST', '/users', { name: `u${i}`, points: POINTS })));
    const orders = await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const items = products.filter((_, j) => (i + j) % 3 !== 0).map((p) => ({ productId: p.body.id, quantity: 1 + (i % 2) }));
        return call(app, 'POST', '/orders', { userId: users[i % users.length]?.body.id, items });
      }),
    );
    for (const o of orders) assert.is(o.status, 201);

    store.arm(seed, types);
    // In waves, so that the pays spread over many batches.
    const pays: Array<{ status: number; body: any }> = [];
    for (let wave = 0; wave < orders.length; wave += 15) {
      pays.push(...(await Promise.all(orders.slice(wave, wave + 15).map((o) => call(app, 'POST', `/orders/${o.body.id}/pay`)))));
    }
    assert.ok(store.failures > 0, 'some batches failed');
    store.arm(seed, []);
    for (const p of pays) assert.ok([200, 409, 503].includes(p.status), `pay answered ${p.status} ${JSON.stringify(p.body)}`);

    // Interrupted sagas resume on the sweeper and finish.
    await until(async () => (await call(app, 'GET', '/orders?status=PAYING&days=1&limit=1')).body.items.length === 0, 'no order left PAYING', 60_000, 50);
    const sold = new Map<string, number>();
    const spent = new Map<string, number>();
    for (const [i, p] of pays.entries()) {
      const now = (await call(app, 'GET', `/orders/${orders[i]?.body.id}`)).body;
      if (p.status === 200) assert.is(now.status, 'PAID', `acknowledged order ${now.id}`);
      if (p.status === 409) assert.is(now.status, 'FAILED', `refused order ${now.id}`);
      if (now.status !== 'PAID') continue;
      spent.set(now.userId, (spent.get(now.userId) ?? 0) + now.total);
      for (const item of now.items) sold.set(item.productId, (sold.get(item.productId) ?? 0) + item.quantity);
    }
    for (const p of products) assert.is((await call(app, 'GET', `/products/${p.body.id}`)).body.stock, STOCK - (sold.get(p.body.id) ?? 0));
    for (const u of users) assert.is((await call(app, 'GET', `/users/${u.body.id}`)).body.points, POINTS - (spent.get(u.body.id) ?? 0));
  });
}

it('the journal and read model agree with every invariant after all rounds', async (ctx) => {
  await ctx.t.close();
  const report = await checkInvariants(ctx.db.url);
  assert.equal(report.problems, []);
  assert.ok(report.paid > 0);
});

it.run();
