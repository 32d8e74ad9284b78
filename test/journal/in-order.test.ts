// Batches on their way at once (PostgreSQL): they commit in the order sent, and none commits after one that failed.

import { sql } from 'kysely';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { connect, type Database } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { BatchWriter } from '../../src/journal/batch-writer.js';
import { appended, type AppendEntry } from '../../src/journal/journal.js';
import { SqlJournalStore } from '../../src/journal/sql-journal-store.js';
import { DelegatingJournalStore } from '../helpers/delegating-journal-store.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { until } from '../helpers/until.js';

const event = (sequenceNr: number, key: string) => ({ sequenceNr, type: 'Noted', ref: null, payload: JSON.stringify({ key, sequenceNr }), at: Date.now() });
const entry = (key: string, sequenceNr: number): AppendEntry => ({ key, events: [event(sequenceNr, key)], creates: false });

/** Counts the batches it writes and how many were on their way at once. */
class WatchedStore extends DelegatingJournalStore {
  sending = 0;
  mostAtOnce = 0;
  override async writeBatch(entries: readonly AppendEntry[], outbox?: Parameters<DelegatingJournalStore['writeBatch']>[1], inOrder?: { chain: number }): Promise<void> {
    this.mostAtOnce = Math.max(this.mostAtOnce, ++this.sending);
    try {
      await super.writeBatch(entries, outbox, inOrder);
    } finally {
      this.sending--;
    }
  }
}

for (const kind of databaseKinds().filter((k) => k.name === 'postgres')) {
  const it = suite<{ tdb: TestDatabase; database: Database }>(`in-order commits on ${kind.name}`, { needs: kind.needs });
  it.before(async (ctx) => {
    ctx.tdb = await kind.create();
    ctx.database = await connect({ url: ctx.tdb.url, dataDir: '', poolSize: 4 });
    await migrateToLatest(ctx.database);
    await sql`create table probe (n int primary key, sent int not null)`.execute(ctx.database.db);
    await sql`create table fresh_rows (sent int primary key)`.execute(ctx.database.db);
    await sql`create table counter (id int primary key, v int not null)`.execute(ctx.database.db);
    await sql`insert into counter values (1, 0)`.execute(ctx.database.db);
  });
  it.after(async (ctx) => {
    await ctx.database?.close();
    await ctx.tdb?.drop();
  });

  const insert = (database: Database, n: number) => sql`insert into probe (n, sent) values (${n}, ${n})`.compile(database.db);
  /** Only the statements that change shared rows: everything waits for the transaction before. */
  const shared = (...rest: ReturnType<typeof insert>[]) => ({ fresh: [], rest });

  it('transactions sent at once commit in the order sent, each its fresh rows beside the rest', async ({ database }) => {
    const run = database.transactInOrder;
    assert.ok(run, 'PostgreSQL commits in order');
    const db = database.db;
    // Each takes the next number from one shared row: a transaction waits on that row until the
    // one holding it commits, so the numbers are handed out in the order of the commits.
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        run(
          {
            fresh: [sql`insert into fresh_rows (sent) values (${i})`.compile(db)],
            rest: [sql`update counter set v = v + 1 where id = 1`.compile(db), sql`insert into probe (n, sent) select v, ${i} from counter where id = 1`.compile(db)],
          },
          0,
        ),
      ),
    );
    const rows = await sql<{ sent: number }>`select sent from probe order by n`.execute(db);
    assert.equal(
      rows.rows.map((r) => r.sent),
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.is((await sql<{ n: number }>`select count(*)::int as n from fresh_rows`.execute(db)).rows[0]?.n, 200);
  });

  it('the fresh rows of the next transaction go in while the one before still waits; its shared rows and commit wait', async ({ database, tdb }) => {
    const run = database.transactInOrder;
    assert.ok(run);
    const db = database.db;
    await sql`delete from probe`.execute(db);
    await sql`delete from fresh_rows`.execute(db);
    const blocker = await connect({ url: tdb.url, dataDir: '', poolSize: 1 });
    const watcher = await connect({ url: tdb.url, dataDir: '', poolSize: 1 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked = false;
    const locking = blocker.db.transaction().execute(async (trx) => {
      await sql`lock table probe in access exclusive mode`.execute(trx);
      locked = true;
      await held;
    });
    await until(() => locked, 'the other session holds the lock');
    const done: string[] = [];
    const first = run(shared(insert(database, 1)), 3).then(() => done.push('first'));
    const second = run({ fresh: [sql`insert into fresh_rows (sent) values (2)`.compile(db)], rest: [insert(database, 2)] }, 3).then(() => done.push('second'));
    // The second's new row is written (its lock on fresh_rows granted) while the first waits for probe.
    const grantedOnFresh = () =>
      sql<{ n: number }>`select count(*)::int as n from pg_locks where relation = 'fresh_rows'::regclass and mode = 'RowExclusiveLock' and granted`.execute(watcher.db);
    await until(async () => (await grantedOnFresh()).rows[0]?.n === 1, 'the second transaction wrote its fresh row');
    const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_locks where relation = 'probe'::regclass and not granted`.execute(watcher.db);
    assert.is(waiting.rows[0]?.n, 1, 'only the first waits for probe: the second has not touched it');
    assert.equal(done, []);
    release();
    await locking;
    await Promise.all([first, second]);
    assert.equal(done, ['first', 'second']);
    assert.equal((await sql<{ n: number }>`select n from probe order by n`.execute(db)).rows.map((r) => r.n), [1, 2]);
    await blocker.close();
    await watcher.close();
  });

  it('after a failed transaction, every one sent behind it in its chain fails and leaves nothing; a new chain commits', async ({ database }) => {
    const run = database.transactInOrder;
    assert.ok(run);
    await sql`delete from probe`.execute(database.db);
    await run(shared(insert(database, 1)), 0);
    // 3 fails (1 exists); 4 and 5 were sent before it failed.
    const outcomes = await Promise.allSettled([run(shared(insert(database, 2)), 0), run(shared(insert(database, 3), insert(database, 1)), 0), run(shared(insert(database, 4)), 0), run(shared(insert(database, 5)), 0)]);
    assert.equal(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'rejected', 'rejected'],
    );
    const reasons = outcomes.map((o) => (o.status === 'rejected' ? String((o.reason as Error).message) : ''));
    assert.match(reasons[1] as string, /duplicate key/);
    assert.match(reasons[2] as string, /did not commit/);
    assert.match(reasons[3] as string, /did not commit/);
    // Sent into the same chain after the failure settled, before its sender heard of it: it fails
    // too. A new chain starts afresh.
    const late = await run(shared(insert(database, 7)), 0).then(() => 'committed', (error: Error) => error.message);
    assert.match(late, /did not commit/);
    await run(shared(insert(database, 6)), 1);
    const rows = await sql<{ n: number }>`select n from probe order by n`.execute(database.db);
    assert.equal(
      rows.rows.map((r) => r.n),
      [1, 2, 6],
    );
  });

  it('a new chain does not wait behind transactions of an earlier one that hang', async ({ database, tdb }) => {
    const run = database.transactInOrder;
    assert.ok(run);
    await sql`delete from probe`.execute(database.db);
    await sql`create table if not exists other (n int primary key)`.execute(database.db);
    // Another session holds a lock on probe: chain 1's transaction hangs on it, and so would
    // everything sent behind it in that chain.
    const blocker = await connect({ url: tdb.url, dataDir: '', poolSize: 1 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked = false;
    const locking = blocker.db.transaction().execute(async (trx) => {
      await sql`lock table probe in access exclusive mode`.execute(trx);
      locked = true;
      await held;
    });
    await until(() => locked, 'the other session holds the lock');
    let hungDone = false;
    const hung = run(shared(insert(database, 1)), 1).finally(() => (hungDone = true));
    // Chain 1 is seen waiting for the lock before chain 2 goes.
    const watcher = await connect({ url: tdb.url, dataDir: '', poolSize: 1 });
    await until(async () => (await sql<{ n: number }>`select count(*)::int as n from pg_locks where not granted and relation = 'probe'::regclass`.execute(watcher.db)).rows[0]?.n === 1, 'chain 1 waits for the lock');
    await watcher.close();
    await run(shared(sql`insert into other (n) values (1)`.compile(database.db)), 2);
    assert.not.ok(hungDone, 'chain 1 is still waiting');
    release();
    await locking;
    await hung;
    await blocker.close();
    const rows = await sql<{ n: number }>`select n from probe`.execute(database.db);
    assert.equal(rows.rows.map((r) => r.n), [1]);
  });

  it('the journal keeps several batches on their way; a failed one fails those behind it and the actor sequence has no gap', async ({ database }) => {
    const store = new WatchedStore(new SqlJournalStore(database));
    const journal = new BatchWriter(store, { maxBatchEvents: 5, maxQueuedEvents: 100_000, maxInFlight: 4 });
    const appends: Promise<void>[] = [];
    for (let i = 1; i <= 400; i++) appends.push(appended(journal, entry(`many-${i % 7}`, Math.ceil(i / 7))));
    await Promise.all(appends);
    assert.ok(store.mostAtOnce > 1, `batches on their way at once: ${store.mostAtOnce}`);
    assert.ok(store.mostAtOnce <= 4);
    for (let k = 0; k < 7; k++) {
      const events = await journal.readEvents(`many-${k}`, 0, 1000);
      events.forEach((e, i) => assert.is(e.sequenceNr, i + 1));
    }

    // A duplicate (key, sequence) in the third batch (of five events each) fails it: the two
    // before it commit, and everything sent or queued behind it fails.
    await appended(journal, entry('dup', 1));
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => appended(journal, entry(i === 12 ? 'dup' : `after-${i}`, 1))));
    assert.equal(
      outcomes.map((o) => o.status),
      Array.from({ length: 40 }, (_, i) => (i < 10 ? 'fulfilled' : 'rejected')),
    );
    for (let i = 0; i < 40; i++) {
      if (i === 12) continue;
      assert.is((await journal.readEvents(`after-${i}`, 0, 10)).length, i < 10 ? 1 : 0, `after-${i} is stored exactly when its append succeeded`);
    }
    await appended(journal, entry('after-20', 1));
    assert.is((await journal.readEvents('after-20', 0, 10)).length, 1);
  });

  it.run();
}
