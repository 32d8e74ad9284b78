// Overload: beyond a full mailbox (429) or the requests in flight (503) the engine answers at once; a flood of 50,000 stays within a memory bound.

import type { OutboxTable } from '../../src/db/schema.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';
import * as assert from 'uvu/assert';
import type { AppendEntry, Latest } from '../../src/journal/journal.js';
import { SqlJournalStore } from '../../src/journal/sql-journal-store.js';
import { DelegatingJournalStore } from '../helpers/delegating-journal-store.js';
import { http, rssBytes, startEngineProcess, type EngineProcess } from '../helpers/child.js';
import { availableDatabaseKinds, databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { call, startAppWith, type TestApp } from '../helpers/engine.js';
import { flood } from '../helpers/flood.js';
import { checkInvariants } from '../helpers/invariants.js';

/** A store whose reads or commits wait while their gate is closed. */
class GatedStore extends DelegatingJournalStore {
  private reads: Promise<void> | undefined;
  private writes: Promise<void> | undefined;
  private openReads = () => {};
  private openWrites = () => {};

  holdReads(): void {
    this.reads = new Promise((resolve) => (this.openReads = resolve));
  }
  releaseReads(): void {
    this.reads = undefined;
    this.openReads();
  }
  holdWrites(): void {
    this.writes = new Promise((resolve) => (this.openWrites = resolve));
  }
  releaseWrites(): void {
    this.writes = undefined;
    this.openWrites();
  }

  override async loadLatest(key: string, limit: number): Promise<Latest> {
    await this.reads;
    return super.loadLatest(key, limit);
  }
  override async writeBatch(entries: readonly AppendEntry[], outbox?: readonly OutboxTable[], inOrder?: { chain: number }): Promise<void> {
    await this.writes;
    return super.writeBatch(entries, outbox, inOrder);
  }
}

const ADMIN = { authorization: 'Bearer test-token' };

const it = suite<{ db: TestDatabase; t?: TestApp; store: GatedStore; engine?: EngineProcess; flooded?: TestDatabase }>('overload');
// One PGlite database for the in-process tests: a fresh one costs seconds.
it.before(async (ctx) => {
  ctx.db = await databaseKinds()[0]!.create();
});
it.after.each(async (ctx) => {
  await ctx.t?.close();
  ctx.t = undefined;
  await ctx.engine?.kill();
  ctx.engine = undefined;
});
it.after(async (ctx) => {
  await ctx.db?.drop();
  await ctx.flooded?.drop();
});

it('a full mailbox answers 429 MAILBOX_FULL with Retry-After at once; what it took in still commits', async (ctx) => {
  ctx.t = await startAppWith(ctx.db.url, { ACTORS_MAILBOX_MAX: '20' }, (database) => (ctx.store = new GatedStore(new SqlJournalStore(database))));
  const { app } = ctx.t;
  const product = (await call(app, 'POST', '/products', { name: 'hot', price: 1, stock: 5 })).body;
  assert.is((await call(app, 'POST', `/admin/actors/product/${product.id}/passivate`, undefined, ADMIN)).status, 200);

  // The product comes back on the first request and is stuck recovering: the rest queue in its mailbox.
  ctx.store.holdReads();
  const answers: Array<{ status: number; body: any; headers: Record<string, unknown> }> = [];
  const sent = Array.from({ length: 100 }, () =>
    app
      .inject({ method: 'POST', url: `/products/${product.id}/restock`, headers: { 'content-type': 'application/json' }, payload: '{"quantity":1}' })
      .then((r) => answers.push({ status: r.statusCode, body: r.json(), headers: r.headers })),
  );
  await until(() => answers.length >= 80, '80 answers', 60_000, 5);
  assert.is(answers.length, 80, 'all but the mailbox-full were answered while the actor is stuck');
  for (const a of answers) {
    assert.is(a.status, 429);
    assert.is(a.body.error, 'MAILBOX_FULL');
    assert.type(a.body.message, 'string');
    assert.is(a.headers['retry-after'], '1');
  }
  ctx.store.releaseReads();
  await Promise.all(sent);
  assert.is(answers.filter((a) => a.status === 200).length, 20);
  assert.is((await call(app, 'GET', `/products/${product.id}`)).body.stock, 25);
});

it('beyond HTTP_MAX_IN_FLIGHT requests answer 503 OVERLOADED with Retry-After at once; health and metrics still answer', async (ctx) => {
  ctx.t = await startAppWith(ctx.db.url, { HTTP_MAX_IN_FLIGHT: '10' }, (database) => (ctx.store = new GatedStore(new SqlJournalStore(database))));
  const { app } = ctx.t;
  const product = (await call(app, 'POST', '/products', { name: 'slow', price: 1, stock: 0 })).body;

  ctx.store.holdWrites();
  const answers: Array<{ status: number; body: any; headers: Record<string, unknown> }> = [];
  const sent = Array.from({ length: 30 }, () =>
    app
      .inject({ method: 'POST', url: `/products/${product.id}/restock`, headers: { 'content-type': 'application/json' }, payload: '{"quantity":2}' })
      .then((r) => answers.push({ status: r.statusCode, body: r.json(), headers: r.headers })),
  );
  await until(() => answers.length >= 20, '20 answers', 60_000, 5);
  for (const a of answers) {
    assert.is(a.status, 503);
    assert.is(a.body.error, 'OVERLOADED');
    assert.is(a.headers['retry-after'], '1');
  }
  assert.is((await call(app, 'GET', '/health/live')).status, 200);
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.body, /orderengine_http_requests_in_flight 10\b/);
  ctx.store.releaseWrites();
  await Promise.all(sent);
  assert.is(answers.filter((a) => a.status === 200).length, 10);
  assert.is((await call(app, 'GET', `/products/${product.id}`)).body.stock, 20);
});

/**
 * The flood's memory bound over the engine's RSS before it. Within the bounds the engine holds at
 * most ACTORS_MAILBOX_MAX (200) envelopes and HTTP_MAX_IN_FLIGHT (500) requests; what else grows
 * is the flood itself (Node parses pipelined requests eagerly, and their answers wait their turn
 * on the socket) and V8 heap slack. Measured on PostgreSQL: +77 to +142 MiB over six runs; with
 * the bounds lifted the same flood took +416 MiB, every request waiting in the product's mailbox.
 */
const FLOOD_RSS_GROWTH = 192 * 1024 * 1024;
const FLOOD = 50_000;

it(`${FLOOD} restocks of one product at once: every answer is 200 or an overload code, RSS stays within ${FLOOD_RSS_GROWTH / 2 ** 20} MiB more, stock adds up`, async (ctx) => {
  // PostgreSQL when there is one (a realistic engine process), else PGlite.
  const server = availableDatabaseKinds().find((k) => k.name === 'postgres');
  const url = server ? (ctx.flooded = await server.create()).url : ctx.db.url;
  const engine = (ctx.engine = await startEngineProcess(url, { ACTORS_MAILBOX_MAX: '200', HTTP_MAX_IN_FLIGHT: '500' }));
  const product = (await http(engine.url, 'POST', '/products', { name: 'flooded', price: 1, stock: 7 })).body;
  const before = rssBytes(engine.child.pid) ?? 0;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(engine.child.pid) ?? 0)), 50);
  const started = performance.now();
  const answers = await flood(engine.url, FLOOD, 100, () => ({ method: 'POST', path: `/products/${product.id}/restock`, body: '{"quantity":1}' }));
  clearInterval(sampler);

  const counts: Record<string, number> = {};
  for (const a of answers) counts[`${a.status} ${a.code ?? ''}`.trim()] = (counts[`${a.status} ${a.code ?? ''}`.trim()] ?? 0) + 1;
  console.log(
    `  flood: ${FLOOD} in ${Math.round(performance.now() - started)} ms, ${JSON.stringify(counts)}, RSS ${(before / 2 ** 20).toFixed(0)} → peak ${(peak / 2 ** 20).toFixed(0)} MiB`,
  );
  const allowed = new Set(['200', '429 MAILBOX_FULL', '503 OVERLOADED']);
  for (const key of Object.keys(counts)) assert.ok(allowed.has(key), `unexpected answer ${key}`);
  const ok = counts['200'] ?? 0;
  assert.ok(ok > 0, 'some restocks went through');
  assert.ok(ok < FLOOD, 'the bounds refused some');
  assert.ok(peak - before < FLOOD_RSS_GROWTH, `RSS grew ${((peak - before) / 2 ** 20).toFixed(1)} MiB`);
  // A refusal changed nothing, so the stock is exactly the initial 7 plus the restocks answered 200.
  assert.is((await http(engine.url, 'GET', `/products/${product.id}`)).body.stock, 7 + ok);
  assert.is(await engine.stop(), 0);
  ctx.engine = undefined;
  // The journal agrees: initial stock plus the Restocked events is the stock the read model holds.
  assert.equal((await checkInvariants(url)).problems, []);
});

it.run();
