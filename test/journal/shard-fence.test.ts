// Fencing where the data lives: a batch from a writer whose shard epoch another writer has raised rolls back whole, on each database.

import * as assert from 'uvu/assert';
import { appended, type AppendEntry } from '../../src/journal/journal.js';
import { BatchWriter } from '../../src/journal/batch-writer.js';
import { isStaleEpoch, type Fence } from '../../src/journal/shard-fence.js';
import { databaseKinds } from '../helpers/databases.js';
import type { Database } from '../../src/db/connect.js';
import { journalStoreSuite } from '../helpers/journal-store-suite.js';

const entry = (key: string, sequenceNr: number): AppendEntry => ({
  key,
  events: [{ sequenceNr, type: 'Noted', ref: null, payload: '{}', at: Date.now() }],
  creates: false,
});

for (const kind of databaseKinds()) {
  const it = journalStoreSuite(`shard fences on ${kind.name}`, kind);

  const stored = async (database: Database, key: string) => (await database.db.selectFrom('journal').select('sequence_nr').where('persistence_key', '=', key).execute()).length;

  it('the first writer sets the epoch; a later epoch takes over; the old writer’s next batch is refused and leaves nothing', async ({ database, store }) => {
    await store.writeBatch([entry('a-1', 1)], [], undefined, [{ shard: 1, epoch: 5 }]);
    await store.writeBatch([entry('b-1', 1)], [], undefined, [{ shard: 1, epoch: 9 }]);
    const refused = await store.writeBatch([entry('a-2', 1), entry('other-shard', 1)], [], undefined, [{ shard: 1, epoch: 5 }, { shard: 2, epoch: 5 }]).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(refused, 'the stale batch is refused');
    assert.ok(isStaleEpoch(refused), String(refused));
    assert.is(await stored(database, 'a-2'), 0, 'none of its events');
    assert.is(await stored(database, 'other-shard'), 0, 'not even those of a shard it still held');
    const epochs = await database.db.selectFrom('shard_epochs').select(['shard', 'epoch']).orderBy('shard').execute();
    assert.equal(epochs.map((e) => [Number(e.shard), Number(e.epoch)]), [[1, 9]], 'the refused batch raised nothing');
    // The current owner goes on, and so does a batch with no fences (a single process).
    await store.writeBatch([entry('b-2', 1)], [], undefined, [{ shard: 1, epoch: 9 }]);
    await store.writeBatch([entry('single', 1)]);
    assert.is(await stored(database, 'b-2'), 1);
    assert.is(await stored(database, 'single'), 1);
  });

  it('the batch writer fences each batch; an append committed after its lease was lost is not acknowledged', async ({ database, store }) => {
    let held = true;
    const written: Fence[][] = [];
    const journal = new BatchWriter(store, {
      maxBatchEvents: 100,
      maxQueuedEvents: 1000,
      fencing: {
        fencesFor: (entries) => {
          const fences = [...new Set(entries.map((e) => Number(e.key.split('-')[1])))].map((shard) => ({ shard, epoch: 50 }));
          written.push(fences);
          return fences;
        },
        holds: () => held,
      },
    });
    await appended(journal, entry('w-11', 1));
    assert.equal(written.at(-1), [{ shard: 11, epoch: 50 }]);
    held = false;
    const lost = await appended(journal, entry('w-12', 1)).then(
      () => 'acknowledged',
      () => 'refused',
    );
    assert.is(lost, 'refused', 'no acknowledgement once the lease is gone');
    assert.is(await stored(database, 'w-12'), 1, 'the database took it: the next owner reads it from the journal');
  });

  if (kind.name === 'postgres') {
    it('pipelined batches in order: a fenced one fails and so does everything sent behind it', async ({ database, store }) => {
      await store.writeBatch([entry('p-0', 1)], [], undefined, [{ shard: 7, epoch: 20 }]);
      const outcomes = await Promise.allSettled([
        store.writeBatch([entry('p-1', 1)], [], { chain: 1 }, [{ shard: 7, epoch: 20 }]),
        store.writeBatch([entry('p-2', 1)], [], { chain: 1 }, [{ shard: 7, epoch: 3 }]),
        store.writeBatch([entry('p-3', 1)], [], { chain: 1 }, [{ shard: 7, epoch: 20 }]),
      ]);
      assert.equal(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'rejected']);
      assert.is(await stored(database, 'p-1'), 1);
      assert.is(await stored(database, 'p-2') + (await stored(database, 'p-3')), 0);
    });
  }

  it.run();
}
