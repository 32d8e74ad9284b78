// A suite on one database of the matrix with a fresh migrated database and the SQL journal store on it, dropped afterwards.

import { connect, type Database } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { SqlJournalStore } from '../../src/journal/sql-journal-store.js';
import type { DatabaseKind, TestDatabase } from './databases.js';
import { suite, type Suite } from './suite.js';

export interface StoreContext {
  tdb: TestDatabase;
  database: Database;
  store: SqlJournalStore;
}

/**
 * ```ts
 * for (const kind of databaseKinds()) {
 *   const it = journalStoreSuite(`batch round trip on ${kind.name}`, kind);
 *   it('…', async ({ store }) => { … });
 *   it.run();
 * }
 * ```
 */
export function journalStoreSuite(title: string, kind: DatabaseKind): Suite<StoreContext> {
  const it = suite<StoreContext>(title, { needs: kind.needs });
  it.before(async (ctx) => {
    ctx.tdb = await kind.create();
    ctx.database = await connect({ url: ctx.tdb.url, dataDir: '', poolSize: 2 });
    await migrateToLatest(ctx.database);
    ctx.store = new SqlJournalStore(ctx.database);
  });
  it.after(async (ctx) => {
    await ctx.database?.close();
    await ctx.tdb?.drop();
  });
  return it;
}
