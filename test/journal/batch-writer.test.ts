// The group-commit journal: order without gaps, the (key, sequence) fence, and all-or-nothing batches.

import type { OutboxTable } from '../../src/db/schema.js';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { connect, type Database } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { BatchWriter } from '../../src/journal/batch-writer.js';
import { appended, type AppendEntry } from '../../src/journal/journal.js';
import { SqlJournalStore } from '../../src/journal/sql-journal-store.js';
import { DelegatingJournalStore } from '../helpers/delegating-journal-store.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { call, startAppWith } from '../helpers/engine.js';

/** A store whose commits fail while `failing` is set, after the real SQL ran, so rollback is tested too. */
class FlakyStore extends DelegatingJournalStore {
  failing = false;
  override async writeBatch(entries: readonly AppendEntry[], outbox?: readonly OutboxTable[], inOrder?: { chain: number }): Promise<void> {
    if (!this.failing) return super.writeBatch(entries, outbox, inOrder);
    await super.writeBatch([...entries, { key: '__poison', events: [poison(1), poison(1)], creates: false }], outbox, inOrder);
  }
}
const poison = (n: number) => ({ sequenceNr: n, type: 'Poison', ref: null, payload: '{}', at: 0 });

const event = (sequenceNr: number, key: string) => ({ sequenceNr, type: 'Noted', ref: null, payload: JSON.stringify({ key, sequenceNr }), at: Date.now() });

for (const kind of databaseKinds()) {
  const it = suite<{ tdb: TestDatabase; database: Database }>(`journal on ${kind.name}`, { needs: kind.needs });
  it.before(async (ctx) => {
    ctx.tdb = await kind.create();
    ctx.database = await connect({ url: ctx.tdb.url, dataDir: '', poolSize: 4 });
    await migrateToLatest(ctx.database);
  });
  it.after(async (ctx) => {
    await ctx.database?.close();
    await ctx.tdb?.drop();
  });

  it('1,000 interleaved appends on a few keys come back in order, without a gap, in few batches', async ({ database }) => {
    let batches = 0;
    const journal = new BatchWriter(new SqlJournalStore(database), {
      maxBatchEvents: 100,
      maxQueuedEvents: 10_000,
      observer: { batchCommitted: () => batches++, batchFailed: () => undefined },
    });
    const keys = ['k-a', 'k-b', 'k-c', 'k-d', 'k-e'];
    const next = new Map(keys.map((k) => [k, 0]));
    const appends: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) {
      const key = keys[(i * 7 + (i >> 3)) % keys.length] as string;
      const seq = (next.get(key) ?? 0) + 1;
      next.set(key, seq);
      appends.push(appended(journal, { key, events: [event(seq, key)], creates: false }));
    }
    await Promise.all(appends);
    for (const key of keys) {
      const events = [];
      for (let after = 0; ; ) {
        const page = await journal.readEvents(key, after, 37);
        events.push(...page);
        if (page.length < 37) break;
        after = page[page.length - 1]?.sequenceNr ?? after;
      }
      assert.is(events.length, next.get(key));
      events.forEach((e, i) => assert.is(e.sequenceNr, i + 1, `${key} has no gap`));
    }
    assert.ok(batches >= 10 && batches < 1000, `grouped into ${batches} batches`);
  });

  it('(key, sequence) is unique: a second writer of the same sequence fails', async ({ database }) => {
    const journal = new BatchWriter(new SqlJournalStore(database), { maxBatchEvents: 100, maxQueuedEvents: 100 });
    await appended(journal, { key: 'fence', events: [event(1, 'fence')], creates: false });
    let failed = false;
    await appended(journal, { key: 'fence', events: [event(1, 'fence')], creates: false }).catch(() => (failed = true));
    assert.ok(failed);
    assert.is((await journal.readEvents('fence', 0, 10)).length, 1);
  });

  it('a failed batch fails its appends and everything queued, and leaves nothing of itself', async ({ database }) => {
    const store = new FlakyStore(new SqlJournalStore(database));
    const journal = new BatchWriter(store, { maxBatchEvents: 1000, maxQueuedEvents: 10_000 });
    store.failing = true;
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => appended(journal, { key: `fail-${i % 3}`, events: [event(Math.floor(i / 3) + 1, 'x')], creates: false })),
    );
    assert.ok(results.every((r) => r.status === 'rejected'));
    for (const key of ['fail-0', 'fail-1', 'fail-2', '__poison']) assert.is((await journal.readEvents(key, 0, 10)).length, 0);
    store.failing = false;
    await appended(journal, { key: 'fail-0', events: [event(1, 'x')], creates: false });
    assert.is((await journal.readEvents('fail-0', 0, 10)).length, 1);
  });

  it('a failing commit answers 503, and the actors read back their committed state', async ({ tdb }) => {
    let store: FlakyStore | undefined;
    const t = await startAppWith(tdb.url, {}, (database) => (store = new FlakyStore(new SqlJournalStore(database))));
    try {
      const p = await call(t.app, 'POST', '/products', { name: 'flaky', price: 5, stock: 10 });
      const u = await call(t.app, 'POST', '/users', { name: 'flaky-u', points: 100 });
      const o = await call(t.app, 'POST', '/orders', { userId: u.body.id, items: [{ productId: p.body.id, quantity: 4 }] });
      assert.ok(store);
      store.failing = true;
      const [restock, pay] = await Promise.all([
        call(t.app, 'POST', `/products/${p.body.id}/restock`, { quantity: 5 }),
        call(t.app, 'POST', `/orders/${o.body.id}/pay`),
      ]);
      assert.is(restock.status, 503);
      assert.is(restock.body.error, 'DATABASE_UNAVAILABLE');
      assert.is(pay.status, 503);
      assert.is((await call(t.app, 'GET', `/products/${p.body.id}`)).body.stock, 10);
      assert.is((await call(t.app, 'GET', `/users/${u.body.id}`)).body.points, 100);
      store.failing = false;
      // The order went back to CREATED or stays PAYING and resumes; either way a new pay finishes it.
      const again = await call(t.app, 'POST', `/orders/${o.body.id}/pay`);
      assert.is(again.status, 200);
      assert.is((await call(t.app, 'GET', `/products/${p.body.id}`)).body.stock, 6);
      assert.is((await call(t.app, 'GET', `/users/${u.body.id}`)).body.points, 80);
      const restocked = await call(t.app, 'POST', `/products/${p.body.id}/restock`, { quantity: 5 });
      assert.is(restocked.body.stock, 11);
    } finally {
      await t.close();
    }
  });

  it.run();
}
