// An activation's one read: the latest snapshot and the first events after it, on each database, and the actor it rebuilds.

import * as assert from 'uvu/assert';
import { productModule, type ProductEvent } from '../../actors/product/index.js';
import { encodeSnapshot, recover } from '../../src/engine/recovery.js';
import { RefWindow } from '../../src/engine/ref-window.js';
import { BatchWriter } from '../../src/journal/batch-writer.js';
import type { Latest, StoredEvent } from '../../src/journal/journal.js';
import { DelegatingJournalStore } from '../helpers/delegating-journal-store.js';
import { databaseKinds } from '../helpers/databases.js';
import { journalStoreSuite } from '../helpers/journal-store-suite.js';

const noted = (sequenceNr: number): StoredEvent => ({ sequenceNr, type: 'Noted', ref: sequenceNr % 2 === 0 ? `r${sequenceNr}` : null, payload: `{"n":${sequenceNr}}`, at: 1000 + sequenceNr });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Counts the reads that reach the store. */
class CountingStore extends DelegatingJournalStore {
  latestReads = 0;
  eventReads = 0;
  override loadLatest(key: string, limit: number): Promise<Latest> {
    this.latestReads++;
    return super.loadLatest(key, limit);
  }
  override readEvents(key: string, afterSequenceNr: number, limit: number): Promise<StoredEvent[]> {
    this.eventReads++;
    return super.readEvents(key, afterSequenceNr, limit);
  }
}

/** A product's life: created, then restocked and reserved under command ids, some ids twice. */
function productEvents(id: string, count: number): StoredEvent[] {
  return range(1, count).map((sequenceNr) => {
    const at = 1000 + sequenceNr;
    const event: ProductEvent =
      sequenceNr === 1
        ? { type: 'ProductCreated', id, name: 'p', price: 5, stock: 100, at }
        : sequenceNr % 3 === 0
          ? { type: 'StockReserved', ref: `order-${sequenceNr % 5}`, quantity: 2, at }
          : { type: 'Restocked', ref: `restock-${sequenceNr}`, quantity: 1, at };
    return { sequenceNr, type: event.type, ref: 'ref' in event ? event.ref : null, payload: JSON.stringify(event), at };
  });
}

for (const kind of databaseKinds()) {
  const it = journalStoreSuite(`latest snapshot and events on ${kind.name}`, kind);

  it('without a snapshot: the events from the first, though another actor has one', async ({ store }) => {
    await store.writeBatch([
      { key: 'plain', events: range(1, 3).map(noted), creates: true },
      { key: 'plain-other', events: range(1, 2).map(noted), creates: true, snapshot: { sequenceNr: 2, state: 'other' } },
    ]);
    assert.equal(await store.loadLatest('plain', 10), { snapshot: undefined, events: range(1, 3).map(noted) });
    assert.equal(await store.loadLatest('nobody', 10), { snapshot: undefined, events: [] });
  });

  it('a snapshot with no later events: the snapshot alone', async ({ store }) => {
    await store.writeBatch([{ key: 'resting', events: range(1, 4).map(noted), creates: true, snapshot: { sequenceNr: 4, state: '{"at":4}' } }]);
    assert.equal(await store.loadLatest('resting', 10), { snapshot: { sequenceNr: 4, state: '{"at":4}' }, events: [] });
  });

  it('the latest of several snapshot rows, and only the events after it', async ({ store, database }) => {
    await store.writeBatch([{ key: 'layered', events: range(1, 6).map(noted), creates: true, snapshot: { sequenceNr: 4, state: 'at 4' } }]);
    await database.db.insertInto('snapshots').values({ persistence_key: 'layered', sequence_nr: 2, state: 'at 2', created_at: 0 }).execute();
    assert.equal(await store.loadLatest('layered', 10), { snapshot: { sequenceNr: 4, state: 'at 4' }, events: range(5, 6).map(noted) });
  });

  it('more events than the limit: the first page, and readEvents goes on from its end to the last', async ({ store }) => {
    await store.writeBatch([{ key: 'long', events: range(1, 2).map(noted), creates: true, snapshot: { sequenceNr: 2, state: 'at 2' } }]);
    await store.writeBatch([{ key: 'long', events: range(3, 12).map(noted), creates: false }]);
    const { snapshot, events } = await store.loadLatest('long', 4);
    assert.equal(snapshot, { sequenceNr: 2, state: 'at 2' });
    assert.equal(events, range(3, 6).map(noted));
    const read = [...events];
    let page = events;
    while (page.length === 4) {
      page = await store.readEvents('long', read[read.length - 1]?.sequenceNr ?? 0, 4);
      read.push(...page);
    }
    assert.equal(read, range(3, 12).map(noted));
  });

  it('an actor restored from its snapshot and later events equals one rebuilt from its events alone; ids before the snapshot are in the journal', async ({ store }) => {
    const key = 'product-p1';
    const all = productEvents('p1', 20);
    const atSnapshot = 7;
    let state = productModule.initial('p1');
    for (const e of all.slice(0, atSnapshot)) state = productModule.evolve(state, JSON.parse(e.payload) as ProductEvent);
    await store.writeBatch([{ key, events: all.slice(0, atSnapshot), creates: true, snapshot: { sequenceNr: atSnapshot, state: encodeSnapshot(productModule, state) } }]);
    await store.writeBatch([{ key, events: all.slice(atSnapshot), creates: false }]);

    const counting = new CountingStore(store);
    const journal = new BatchWriter(counting, { maxBatchEvents: 100, maxQueuedEvents: 100, timeoutMs: 5000 });
    const restoredWindow = new RefWindow(100);
    const restored = await recover(productModule, journal, key, 'p1', 3, restoredWindow);
    assert.is(restored.snapshotSequenceNr, atSnapshot, 'restored from the snapshot');
    assert.equal([counting.latestReads, counting.eventReads], [1, 4], '13 events after the snapshot: 3 in the first read, then 3, 3, 3, 1');

    let rebuilt = productModule.initial('p1');
    for (const e of await store.readEvents(key, 0, 100)) rebuilt = productModule.evolve(rebuilt, JSON.parse(e.payload) as ProductEvent);
    assert.equal(restored.state, rebuilt);
    assert.is(restored.sequenceNr, 20);
    // The window holds the ids of the events after the snapshot; those before it are the journal's to tell.
    const windowAfter = new RefWindow(100);
    for (const e of all.slice(atSnapshot)) if (e.ref !== null) windowAfter.note(e.ref, e.type);
    assert.equal(restoredWindow.toJSON(), windowAfter.toJSON());
    const before = all.slice(0, atSnapshot).filter((e) => e.ref !== null && restoredWindow.get(e.ref) === undefined);
    assert.ok(before.length > 0, 'some ids appear only before the snapshot');
    for (const e of before) assert.ok((await journal.refTypes(key, e.ref!)).includes(e.type), `${e.ref} found in the journal`);
  });

  it('a snapshot that carries a window of command ids (as written before) restores it', async ({ store }) => {
    const key = 'product-p3';
    const all = productEvents('p3', 4);
    let state = productModule.initial('p3');
    for (const e of all) state = productModule.evolve(state, JSON.parse(e.payload) as ProductEvent);
    const old = JSON.stringify({ state: productModule.snapshot(state), window: [['restock-2', ['Restocked']], ['order-3', ['StockReserved']]] });
    await store.writeBatch([{ key, events: all, creates: true, snapshot: { sequenceNr: 4, state: old } }]);
    const window = new RefWindow(100);
    const restored = await recover(productModule, new BatchWriter(store, { maxBatchEvents: 100, maxQueuedEvents: 100 }), key, 'p3', 10, window);
    assert.equal(restored.state, state);
    assert.equal(window.toJSON(), [['restock-2', ['Restocked']], ['order-3', ['StockReserved']]]);
  });

  it('an actor whose events all fit in the first read is restored in one round trip', async ({ store }) => {
    const key = 'product-p2';
    const all = productEvents('p2', 5);
    await store.writeBatch([{ key, events: all, creates: true }]);
    const counting = new CountingStore(store);
    const restored = await recover(productModule, new BatchWriter(counting, { maxBatchEvents: 100, maxQueuedEvents: 100 }), key, 'p2', 100, new RefWindow(100));
    assert.equal([counting.latestReads, counting.eventReads], [1, 0]);
    assert.is(restored.sequenceNr, 5);
    assert.is(restored.snapshotSequenceNr, 0);
  });

  it.run();
}
