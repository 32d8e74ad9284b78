// On MySQL and MariaDB a cluster's members hold the one-writer lock together and a process alone holds it by itself, each refusing the other with the holder named, across reconnects too.

import * as assert from 'uvu/assert';
import { createConnection, type Connection } from 'mysql2/promise';
import { connect } from '../../../src/db/connect.js';
import { migrateToLatest } from '../../../src/db/migrate.js';
import { mysqlLockNames } from '../../../src/db/mysql/mysql-lock-names.js';
import { mysqlSoleWriterLock } from '../../../src/db/mysql/mysql-sole-writer-lock.js';
import type { SoleWriterLock } from '../../../src/db/sole-writer-lock.js';
import { databaseKinds, type TestDatabase } from '../../helpers/databases.js';
import { suite } from '../../helpers/suite.js';
import { until } from '../../helpers/until.js';

const mysql = databaseKinds().find((k) => k.name === 'mysql')!;
const it = suite<{ db: TestDatabase; admin: Connection; locks: SoleWriterLock[] }>('the one-writer lock on MySQL', { needs: mysql.needs });

const databaseOf = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

it.before(async (ctx) => {
  ctx.db = await mysql.create();
  // engine_holder, where each holder is named.
  const database = await connect({ url: ctx.db.url, dataDir: '', poolSize: 1 });
  await migrateToLatest(database);
  await database.close();
  ctx.admin = await createConnection(ctx.db.url);
  ctx.locks = [];
});
it.after.each(async (ctx) => {
  await Promise.all(ctx.locks.map((lock) => lock.release()));
  ctx.locks = [];
});
it.after(async (ctx) => {
  await ctx.admin?.end();
  await ctx.db?.drop();
});

/** A refusal waits out the grace for a holder that just died, and a holder checks its name every few seconds: both shorter here. */
const TIMING = { graceMs: 1000, checkMs: 500 };

const lockOf = (ctx: { db: TestDatabase; locks: SoleWriterLock[] }, shared: boolean) => {
  const lock = mysqlSoleWriterLock(ctx.db.url, shared, TIMING);
  ctx.locks.push(lock);
  return lock;
};

/** The connection holding `name`, or null. */
const holderConnection = async (admin: Connection, name: string): Promise<number | null> => {
  const [rows] = await admin.query({ sql: 'select is_used_lock(?)', rowsAsArray: true }, [name]);
  return ((rows as unknown[][])[0]![0] as number | null) ?? null;
};

it('two members hold it together, and a process alone is refused with a member named', async (ctx) => {
  assert.equal(await lockOf(ctx, true).acquire('cluster member m1'), { ok: true });
  assert.equal(await lockOf(ctx, true).acquire('cluster member m2'), { ok: true });
  assert.equal(await lockOf(ctx, false).acquire('alone'), { ok: false, holder: 'cluster member m1' });
});

it('a process alone refuses a member and another process alone, naming itself', async (ctx) => {
  assert.equal(await lockOf(ctx, false).acquire('alone 1'), { ok: true });
  assert.equal(await lockOf(ctx, true).acquire('cluster member m1'), { ok: false, holder: 'alone 1' });
  assert.equal(await lockOf(ctx, false).acquire('alone 2'), { ok: false, holder: 'alone 1' });
});

it('a refused process leaves nothing held: once the holder releases, the other kind starts', async (ctx) => {
  const alone = lockOf(ctx, false);
  assert.equal(await alone.acquire('alone'), { ok: true });
  assert.is((await lockOf(ctx, true).acquire('m1')).ok, false);
  await alone.release();
  const names = mysqlLockNames(databaseOf(ctx.db.url));
  for (const name of [names.gate, ...names.members]) assert.is(await holderConnection(ctx.admin, name), null, name);
  assert.equal(await lockOf(ctx, true).acquire('m1'), { ok: true });
});

it('a member whose connection dies takes its name again; when a process alone took the database meanwhile, it hears that it lost it', async (ctx) => {
  const member = lockOf(ctx, true);
  let lostTo: string | undefined | null = null;
  member.onLost((holder) => (lostTo = holder));
  assert.equal(await member.acquire('cluster member m1'), { ok: true });
  const name = mysqlLockNames(databaseOf(ctx.db.url)).members[0]!;
  const first = await holderConnection(ctx.admin, name);
  assert.ok(first);

  await ctx.admin.query(`kill ${first}`);
  await until(async () => ![null, first].includes(await holderConnection(ctx.admin, name)), 'the member holds its name again on a new connection', 20_000, 100);

  await ctx.admin.query(`kill ${await holderConnection(ctx.admin, name)}`);
  await until(async () => (await holderConnection(ctx.admin, name)) === null, 'the server has let the name go', 5_000, 20);
  assert.equal(await lockOf(ctx, false).acquire('alone'), { ok: true });
  await until(() => lostTo !== null, 'the member hears the database was taken', 20_000, 100);
  assert.is(lostTo, 'alone');
  assert.is(await holderConnection(ctx.admin, name), null, 'the member let its name go again');
});

it.run();

const long = suite<{ url: string; drop: () => Promise<void> }>('the one-writer lock on MySQL, for a database whose name is as long as MySQL allows', { needs: mysql.needs });
long.after(async (ctx) => ctx.drop?.());

long('members and a process alone exclude each other by names MySQL accepts', async (ctx) => {
  const adminUrl = process.env.TEST_MYSQL_URL!;
  const database = `oe_t_${process.pid}_${'x'.repeat(64)}`.slice(0, 64);
  const admin = await createConnection(adminUrl);
  await admin.query(`create database ${database}`);
  await admin.end();
  ctx.drop = async () => {
    const again = await createConnection(adminUrl);
    await again.query(`drop database if exists ${database}`);
    await again.end();
  };
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  ctx.url = url.toString();
  const locks = [mysqlSoleWriterLock(ctx.url, true, TIMING), mysqlSoleWriterLock(ctx.url, true, TIMING), mysqlSoleWriterLock(ctx.url, false, TIMING)];
  try {
    assert.is((await locks[0]!.acquire('m1')).ok, true);
    assert.is((await locks[1]!.acquire('m2')).ok, true);
    assert.is((await locks[2]!.acquire('alone')).ok, false);
  } finally {
    await Promise.all(locks.map((lock) => lock.release()));
  }
});

long.run();
