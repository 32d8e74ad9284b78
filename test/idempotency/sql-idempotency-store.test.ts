// The SQL idempotency store on every database in the matrix: a claim is seen by every process on the database, answers round-trip, a lapsed claim is taken over once, the retention frees and purges keys.

import * as assert from 'uvu/assert';
import { connect, type Database } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import type { Claim } from '../../src/http/plugins/idempotency-store.js';
import { SqlIdempotencyStore, type IdempotencyRequestsTable } from '../../src/idempotency/sql-idempotency-store.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { suite } from '../helpers/suite.js';

const HOUR = 3600_000;

interface Ctx {
  db: TestDatabase;
  database: Database;
  /** A second connection to the same database where the dialect allows one (another process); PGlite has one. */
  other: Database;
  store: SqlIdempotencyStore;
  /** Another process's store on the same database. */
  peer: SqlIdempotencyStore;
}

const claimed = (claim: { ok: boolean; value?: Claim }): Extract<Claim, { state: 'claimed' }> => {
  assert.ok(claim.ok && claim.value?.state === 'claimed', JSON.stringify(claim));
  return claim.value as Extract<Claim, { state: 'claimed' }>;
};

for (const kind of databaseKinds()) {
  const it = suite<Ctx>(`SqlIdempotencyStore on ${kind.name}`, { needs: kind.needs });

  it.before(async (ctx) => {
    ctx.db = await kind.create();
    ctx.database = await connect({ url: ctx.db.url, dataDir: '', poolSize: 2, readPoolSize: 1 });
    await migrateToLatest(ctx.database);
    ctx.other = kind.name === 'pglite' ? ctx.database : await connect({ url: ctx.db.url, dataDir: '', poolSize: 2, readPoolSize: 1 });
    ctx.store = new SqlIdempotencyStore(ctx.database.db, { retentionMs: HOUR, claimMs: HOUR });
    ctx.peer = new SqlIdempotencyStore(ctx.other.db, { retentionMs: HOUR, claimMs: HOUR });
  });
  it.after(async (ctx) => {
    if (ctx.other !== ctx.database) await ctx.other?.close();
    await ctx.database?.close();
    await ctx.db?.drop();
  });

  const rows = (database: Database) => database.db.withTables<{ idempotency_requests: IdempotencyRequestsTable }>();

  it('the first claim of a key is this request\'s, with an id for a create; another process sees it running', async ({ store, peer }) => {
    const first = claimed(await store.claim('k-running', 'f1'));
    assert.is(first.takeover, false);
    assert.match(first.resourceId, /^[0-9a-f-]{36}$/);
    assert.equal(await peer.claim('k-running', 'f1'), { ok: true, value: { state: 'running', fingerprint: 'f1' } });
    assert.equal(await peer.claim('k-running', 'f2'), { ok: true, value: { state: 'running', fingerprint: 'f1' } });
  });

  it('a completed claim is answered to every process, with status, body and headers', async ({ store, peer }) => {
    const { token } = claimed(await store.claim('k-answered', 'f1'));
    const answer = { statusCode: 201, body: { error: 'x', message: 'ünï', productId: 'p1' }, headers: { location: '/users/u1' } };
    assert.ok(await store.complete('k-answered', token, answer));
    assert.equal(await peer.claim('k-answered', 'f1'), { ok: true, value: { state: 'answered', fingerprint: 'f1', answer } });
  });

  it('only the claim that holds the key completes it: a stale token changes nothing', async ({ store }) => {
    claimed(await store.claim('k-stale', 'f1'));
    assert.not.ok(await store.complete('k-stale', 'not-the-token', { statusCode: 200, body: {} }));
    assert.equal(await store.claim('k-stale', 'f1'), { ok: true, value: { state: 'running', fingerprint: 'f1' } });
  });

  it('a lapsed claim is taken over by exactly one of two processes, with the same resource id', async ({ database, store, peer }) => {
    const first = claimed(await store.claim('k-lapsed', 'f1'));
    await rows(database).updateTable('idempotency_requests').set({ claimed_until: Date.now() - 1 }).where('idem_key', '=', 'k-lapsed').execute();
    const both = await Promise.all([store.claim('k-lapsed', 'f1'), peer.claim('k-lapsed', 'f1')]);
    const states = both.map((c) => (c.ok ? c.value.state : c.error)).sort();
    assert.equal(states, ['claimed', 'running']);
    const winner = both.map((c) => c.ok && c.value).find((c) => c && c.state === 'claimed') as Extract<Claim, { state: 'claimed' }>;
    assert.is(winner.takeover, true);
    assert.is(winner.resourceId, first.resourceId);
    assert.not.ok(await store.complete('k-lapsed', first.token, { statusCode: 200, body: { late: true } }));
  });

  it('release frees the key for the next repeat at once', async ({ store, peer }) => {
    const first = claimed(await store.claim('k-released', 'f1'));
    await store.release('k-released', first.token);
    const next = claimed(await peer.claim('k-released', 'f1'));
    assert.is(next.takeover, true);
  });

  it('a key past the retention is free again, before the purge; the purge forgets only keys past it', async ({ database, store }) => {
    const { token } = claimed(await store.claim('k-old', 'f1'));
    await store.complete('k-old', token, { statusCode: 200, body: { n: 1 } });
    claimed(await store.claim('k-recent', 'f1'));
    await rows(database).updateTable('idempotency_requests').set({ created_at: Date.now() - 2 * HOUR }).where('idem_key', '=', 'k-old').execute();
    const again = claimed(await store.claim('k-old', 'f2'));
    assert.is(again.takeover, false);
    await rows(database).updateTable('idempotency_requests').set({ created_at: Date.now() - 2 * HOUR }).where('idem_key', '=', 'k-old').execute();
    await store.purge();
    const left = await rows(database).selectFrom('idempotency_requests').select('idem_key').where('idem_key', 'in', ['k-old', 'k-recent']).execute();
    assert.equal(left.map((r) => r.idem_key), ['k-recent']);
  });

  it.run();
}
