// What the metrics say: orderengine_orders_finished_total counts orders, once per final status they
// reach and when it commits (a repeated, concurrent or replayed request and a restart count nothing
// more), its failure reason apart from its status; Node's process metrics keep their standard names.

import { spawnSync } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import type { Engine } from '../../src/engine/engine.js';
import { startEngine } from '../../src/engine/start-engine.js';
import { buildApp } from '../../src/http/app.js';
import { Metrics } from '../../src/metrics.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { appOptions, call, testConfig } from '../helpers/engine.js';
import { until } from '../helpers/until.js';

interface Context {
  db: TestDatabase;
  engine: Engine;
  metrics: Metrics;
  app: FastifyInstance;
}

const [pglite] = databaseKinds();
const it = suite<Context>('ops: metrics');

async function open(ctx: Context, env: Record<string, string> = {}): Promise<void> {
  ctx.metrics = new Metrics();
  ctx.engine = await startEngine(testConfig(ctx.db.url, env), ctx.metrics);
  ctx.app = await buildApp(appOptions(ctx.engine, ctx.metrics));
}

async function close(ctx: Context): Promise<void> {
  await ctx.app?.close();
  await ctx.engine?.close();
}

it.before(async (ctx) => {
  ctx.db = await pglite!.create();
  await open(ctx);
});
it.after(async (ctx) => {
  await close(ctx);
  await ctx.db?.drop();
});

/** orderengine_orders_finished_total as "STATUS reason" → count, without the zeros. */
async function finished(metrics: Metrics): Promise<Record<string, number>> {
  const { values } = await metrics.ordersFinished.get();
  return Object.fromEntries(values.filter((v) => v.value > 0).map((v) => [`${v.labels.status} ${v.labels.reason}`, v.value]));
}

/** A user with `points` and an order for `quantity` of a product priced 10 with `stock` units. */
async function anOrder(app: FastifyInstance, { points = 100, stock = 10, quantity = 1 } = {}): Promise<string> {
  const user = await call(app, 'POST', '/users', { name: 'buyer', points });
  const product = await call(app, 'POST', '/products', { name: 'thing', price: 10, stock });
  const order = await call(app, 'POST', '/orders', { userId: user.body.id, items: [{ productId: product.body.id, quantity }] });
  assert.is(order.status, 201, JSON.stringify(order.body));
  return order.body.id;
}

it('a paid order counts once, however often, concurrently or with an Idempotency-Key it is paid again', async ({ app, metrics }) => {
  const before = await finished(metrics);
  const id = await anOrder(app);
  const pays = await Promise.all([1, 2, 3].map(() => call(app, 'POST', `/orders/${id}/pay`)));
  for (const pay of pays) assert.is(pay.status, 200, JSON.stringify(pay.body));
  assert.is((await call(app, 'POST', `/orders/${id}/pay`)).body.status, 'PAID');
  const keyed = await call(app, 'POST', `/orders/${id}/pay`, undefined, { 'idempotency-key': 'pay-once' });
  assert.is(keyed.status, 200);
  const replayed = await app.inject({ method: 'POST', url: `/orders/${id}/pay`, headers: { 'idempotency-key': 'pay-once' } });
  assert.is(replayed.headers['idempotent-replayed'], 'true');
  assert.equal(await finished(metrics), { ...before, 'PAID none': (before['PAID none'] ?? 0) + 1 });
});

it('a failed payment counts once as FAILED with its reason; paying it again counts nothing', async ({ app, metrics }) => {
  const before = await finished(metrics);
  const poor = await anOrder(app, { points: 5 });
  const short = await anOrder(app, { stock: 1, quantity: 2 });
  for (const [id, error] of [[poor, 'INSUFFICIENT_POINTS'], [short, 'INSUFFICIENT_STOCK']] as const) {
    const first = await call(app, 'POST', `/orders/${id}/pay`);
    assert.is(first.body.error, error, JSON.stringify(first.body));
    assert.is((await call(app, 'POST', `/orders/${id}/pay`)).body.error, 'ORDER_NOT_PAYABLE');
    assert.is((await call(app, 'POST', `/orders/${id}/cancel`)).body.error, 'ORDER_NOT_CANCELLABLE');
  }
  const after = await finished(metrics);
  assert.is(after['FAILED INSUFFICIENT_POINTS'], (before['FAILED INSUFFICIENT_POINTS'] ?? 0) + 1);
  assert.is(after['FAILED INSUFFICIENT_STOCK'], (before['FAILED INSUFFICIENT_STOCK'] ?? 0) + 1);
  for (const key of Object.keys(after)) assert.match(key, /^(PAID none|CANCELLED none|EXPIRED none|FAILED [A-Z_]+)$/, 'a status, and a reason only for FAILED');
  assert.is(after['PAID none'], before['PAID none']);
});

it('a cancelled order counts once as CANCELLED, whether it was paid or not; a paid one was PAID before', async ({ app, metrics }) => {
  const before = await finished(metrics);
  const unpaid = await anOrder(app);
  const paid = await anOrder(app);
  assert.is((await call(app, 'POST', `/orders/${paid}/pay`)).status, 200);
  for (const id of [unpaid, paid]) {
    assert.is((await call(app, 'POST', `/orders/${id}/cancel`)).body.status, 'CANCELLED');
    assert.is((await call(app, 'POST', `/orders/${id}/cancel`)).body.status, 'CANCELLED');
  }
  assert.equal(await finished(metrics), {
    ...before,
    'PAID none': (before['PAID none'] ?? 0) + 1,
    'CANCELLED none': (before['CANCELLED none'] ?? 0) + 2,
  });
});

it('a restarted engine replays its orders without counting them again', async (ctx) => {
  const id = await anOrder(ctx.app);
  assert.is((await call(ctx.app, 'POST', `/orders/${id}/pay`)).status, 200);
  await close(ctx);
  await open(ctx);
  assert.is((await call(ctx.app, 'GET', `/orders/${id}`)).body.status, 'PAID');
  assert.is((await call(ctx.app, 'POST', `/orders/${id}/pay`)).body.status, 'PAID');
  assert.equal(await finished(ctx.metrics), {});
});

it('an order that expires counts once as EXPIRED, found by the sweeper or by a late payment', async (ctx) => {
  await close(ctx);
  await open(ctx, { ORDER_TTL: '1', SWEEP_INTERVAL_MS: '100' });
  const swept = await anOrder(ctx.app);
  const paidLate = await anOrder(ctx.app);
  await until(async () => (await call(ctx.app, 'GET', `/orders/${swept}`)).body.status === 'EXPIRED', 'the sweeper expires the order');
  const late = await call(ctx.app, 'POST', `/orders/${paidLate}/pay`);
  assert.is(late.body.error, 'ORDER_NOT_PAYABLE');
  assert.is((await call(ctx.app, 'POST', `/orders/${paidLate}/pay`)).body.error, 'ORDER_NOT_PAYABLE');
  assert.equal(await finished(ctx.metrics), { 'EXPIRED none': 2 });
});

it("Node's process metrics keep their standard names, and the page passes promtool check metrics", async ({ app }) => {
  const page = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_version_info']) {
    assert.match(page, new RegExp(`^${name}(\\{| )`, 'm'), name);
  }
  assert.not.match(page, /^orderengine_(process|nodejs)_/m);
  assert.not.match(page, /^nodejs_active_\w+_total/m, 'no gauge named _total');
  assert.match(page, /^# TYPE orderengine_orders_finished_total counter$/m);
  const overview = await call(app, 'GET', '/admin/overview', undefined, { authorization: 'Bearer test-token' });
  assert.is(overview.status, 200);
  assert.type(overview.body.eventLoop.p99Seconds, 'number');
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: page, encoding: 'utf8' });
  if (promtool.error) console.log('  (promtool not installed: the exposition format check is skipped)');
  else assert.is(promtool.status, 0, `${promtool.stdout}${promtool.stderr}`);
});

it.run();
