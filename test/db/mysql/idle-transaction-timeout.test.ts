// A cluster's connections to MariaDB end once idle inside a transaction for the lease, as on PostgreSQL; MySQL, which has no such setting, goes on without it.

import * as assert from 'uvu/assert';
import { sql } from 'kysely';
import { connect, type Database } from '../../../src/db/connect.js';
import { databaseKinds, type TestDatabase } from '../../helpers/databases.js';
import { suite } from '../../helpers/suite.js';

const mysql = databaseKinds().find((k) => k.name === 'mysql')!;
const it = suite<{ db: TestDatabase; opened: Database[] }>('idle_transaction_timeout on MySQL', { needs: mysql.needs });

it.before(async (ctx) => {
  ctx.db = await mysql.create();
  ctx.opened = [];
});
it.after(async (ctx) => {
  await Promise.all(ctx.opened.map((database) => database.close()));
  await ctx.db?.drop();
});

const open = async (ctx: { db: TestDatabase; opened: Database[] }, idleInTransactionMs?: number) => {
  const database = await connect({ url: ctx.db.url, dataDir: '', poolSize: 2, ...(idleInTransactionMs ? { idleInTransactionMs } : {}) });
  ctx.opened.push(database);
  return database;
};

const serverHasIt = async ({ db }: Database) =>
  (await sql<{ Value: string }>`show variables like 'idle_transaction_timeout'`.execute(db)).rows.length > 0;

it('each connection gets the lease in whole seconds, rounded up; without it, the server default', async (ctx) => {
  const database = await open(ctx, 1500);
  if (!(await serverHasIt(database))) {
    assert.equal((await sql<{ one: number }>`select 1 as one`.execute(database.db)).rows, [{ one: 1 }], 'MySQL: the pool works without the setting');
    return;
  }
  // Two transactions at once, so two connections.
  const timeouts = await Promise.all(
    [0, 1].map(() =>
      database.db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ s: number }>`select @@session.idle_transaction_timeout as s`.execute(trx);
        await sql`select sleep(0.2)`.execute(trx);
        return Number(rows[0]!.s);
      }),
    ),
  );
  assert.equal(timeouts, [2, 2]);
  const plain = await open(ctx);
  assert.is(Number((await sql<{ s: number }>`select @@session.idle_transaction_timeout as s`.execute(plain.db)).rows[0]!.s), 0);
});

it('a transaction left idle past it is ended by the server', async (ctx) => {
  const database = await open(ctx, 1000);
  if (!(await serverHasIt(database))) return;
  const idle = database.db.transaction().execute(async (trx) => {
    await sql`select 1`.execute(trx);
    await new Promise((r) => setTimeout(r, 2500));
    await sql`select 1`.execute(trx);
  });
  await idle.then(
    () => assert.unreachable('the transaction went on'),
    (error: unknown) => assert.match(String(error), /closed|lost/i, 'the server closed the connection'),
  );
  assert.equal((await sql<{ one: number }>`select 1 as one`.execute(database.db)).rows, [{ one: 1 }], 'the pool goes on with another connection');
});

it.run();
