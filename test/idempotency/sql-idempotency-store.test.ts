// The SQL idempotency store on every database in the matrix: answers round-trip, the retention hides and purges, an expired answer gives way.

import * as assert from 'uvu/assert';
import { connect, type Database } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { SqlIdempotencyStore } from '../../src/idempotency/sql-idempotency-store.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { suite } from '../helpers/suite.js';

const HOUR = 3600_000;

for (const kind of databaseKinds()) {
  const it = suite<{ db: TestDatabase; database: Database; store: SqlIdempotencyStore }>(`SqlIdempotencyStore on ${kind.name}`, { needs: kind.needs });

  it.before(async (ctx) => {
    ctx.db = await kind.create();
    ctx.database = await connect({ url: ctx.db.url, dataDir: '', poolSize: 2, readPoolSize: 1 });
    await migrateToLatest(ctx.database);
    ctx.store = new SqlIdempotencyStore(ctx.database.db, HOUR);
  });
  it.after(async (ctx) => {
    await ctx.database?.close();
    await ctx.db?.drop();
  });

  /** An answer kept `ageMs` ago, written as the store would have. */
  const keptAgo = (database: Database, key: string, ageMs: number) =>
    database.db
      .insertInto('idempotency_keys')
      .values({ idem_key: key, status_code: 200, body: JSON.stringify({ old: true }), created_at: Date.now() - ageMs })
      .execute();

  it('a key never kept is not found', async ({ store }) => {
    assert.equal(await store.find('POST /users|never'), { ok: true, value: undefined });
  });

  it('a kept answer is found with its status and body', async ({ store }) => {
    const answer = { statusCode: 409, body: { error: 'INSUFFICIENT_STOCK', message: 'ünï', productId: 'p1' } };
    await store.keep('POST /orders/o1/pay|k1', answer);
    assert.equal(await store.find('POST /orders/o1/pay|k1'), { ok: true, value: answer });
  });

  it('the first answer stays: keeping another under the same key changes nothing', async ({ store }) => {
    await store.keep('POST /orders/o2/pay|k1', { statusCode: 200, body: { n: 1 } });
    await store.keep('POST /orders/o2/pay|k1', { statusCode: 200, body: { n: 2 } });
    assert.equal(await store.find('POST /orders/o2/pay|k1'), { ok: true, value: { statusCode: 200, body: { n: 1 } } });
  });

  it('an answer past the retention is not found, and a new one takes its place before the purge', async ({ database, store }) => {
    await keptAgo(database, 'POST /orders/o3/pay|k1', 2 * HOUR);
    assert.equal(await store.find('POST /orders/o3/pay|k1'), { ok: true, value: undefined });
    await store.keep('POST /orders/o3/pay|k1', { statusCode: 200, body: { n: 3 } });
    assert.equal(await store.find('POST /orders/o3/pay|k1'), { ok: true, value: { statusCode: 200, body: { n: 3 } } });
  });

  it('the purge forgets the answers past the retention and only those', async ({ database, store }) => {
    await keptAgo(database, 'POST /users|old', 2 * HOUR);
    await keptAgo(database, 'POST /users|recent', HOUR / 2);
    await store.purge();
    const left = await database.db.selectFrom('idempotency_keys').select('idem_key').where('idem_key', 'in', ['POST /users|old', 'POST /users|recent']).execute();
    assert.equal(left.map((r) => r.idem_key), ['POST /users|recent']);
  });

  it.run();
}
