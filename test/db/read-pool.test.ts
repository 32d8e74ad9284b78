// Database.reads: on PostgreSQL a pool of its own that pipelines reads and refuses transactions; elsewhere the main instance.

import { sql } from 'kysely';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { connect, type Database } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { ReadOnlyDialectError } from '../../src/db/postgres/read-only-dialect-error.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';

for (const kind of databaseKinds()) {
  const it = suite<{ db: TestDatabase; database: Database }>(`read pool on ${kind.name}`, { needs: kind.needs });

  it.before(async (ctx) => {
    ctx.db = await kind.create();
    ctx.database = await connect({ url: ctx.db.url, dataDir: '', poolSize: 2, readPoolSize: 1 });
    await migrateToLatest(ctx.database);
  });
  it.after(async (ctx) => {
    await ctx.database?.close();
    await ctx.db?.drop();
  });

  it('reads see what a transaction of the main pool committed', async ({ database }) => {
    const { db, reads } = database;
    await db.transaction().execute((trx) => trx.insertInto('users').values({ id: 'u1', name: 'one', points: 7, created_at: 1, updated_at: 1 }).execute());
    const row = await reads.selectFrom('users').select(['id', 'points']).where('id', '=', 'u1').executeTakeFirst();
    assert.equal(row, { id: 'u1', points: 7 });
  });

  if (kind.name !== 'postgres') {
    it('without a PostgreSQL pool, reads are the main instance', ({ database }) => {
      assert.is(database.reads, database.db);
    });
  } else {
    it('many reads at once share one connection, pipelined, while the main pool holds a transaction open', async ({ database }) => {
      const { db, reads } = database;
      assert.is.not(reads, db);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const transaction = db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values({ id: 'u2', name: 'two', points: 1, created_at: 1, updated_at: 1 }).execute();
        await held;
      });
      const answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) => reads.selectFrom('users').select('id').where('name', '=', i % 2 ? 'one' : 'two').execute()),
      );
      // The uncommitted row stays invisible; every read answered on the read pool's single connection.
      assert.equal(answers[1], [{ id: 'u1' }]);
      assert.equal(answers[0], []);
      const backends = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database()`.execute(reads);
      assert.ok((backends.rows[0]?.n ?? 0) <= 3, `at most 2 main + 1 read connections (${backends.rows[0]?.n})`);
      release();
      await transaction;
    });

    it('a transaction through the read pool is refused', async ({ database }) => {
      try {
        await database.reads.transaction().execute(async (trx) => trx.selectFrom('users').selectAll().execute());
        assert.unreachable('transaction ran');
      } catch (error) {
        assert.instance(error, ReadOnlyDialectError);
      }
    });

    it('a bad statement fails alone and the pool goes on', async ({ database }) => {
      const bad = sql`select * from no_such_table`.execute(database.reads);
      const good = database.reads.selectFrom('users').select('id').where('id', '=', 'u1').execute();
      await bad.then(
        () => assert.unreachable('bad statement answered'),
        (error: { code?: string }) => assert.is(error.code, '42P01'),
      );
      assert.equal(await good, [{ id: 'u1' }]);
    });
  }

  it.run();
}
