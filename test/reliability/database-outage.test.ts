// PostgreSQL goes away under load (stopped, or silent behind a frozen network) and comes back: fast 503s, then recovery without a restart.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { http, rssBytes, startEngineProcess, type EngineProcess } from '../helpers/child.js';
import { appliedTwice } from '../helpers/applied-once.js';
import { checkInvariants } from '../helpers/invariants.js';
import { payLoad, type PayLoad, type PayOutcome } from '../helpers/pay-load.js';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/** How long a write may take to be refused while the database is refusing connections. */
const FAST_503_MS = 1000;
/**
 * RSS may grow this much over its level before the outage. Failing requests hold nothing: the
 * journal fails its whole queue at once, callers are answered, and actors fall back to their
 * committed state; what remains is V8 heap slack and driver buffers.
 */
const OUTAGE_RSS_GROWTH = 64 * 1024 * 1024;
/** The database is back: the first payment must succeed within this. */
const RECOVERY_MS = 5000;
const DOWN_MS = 3000;

interface Ctx {
  pg: PrivatePostgres;
  engine?: EngineProcess;
  proxy?: TcpProxy;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Readiness every 50 ms and the engine's RSS every 100 ms, until stopped. */
function watch(engine: EngineProcess) {
  const ready: Array<{ at: number; status: number }> = [];
  const rss: Array<{ at: number; bytes: number }> = [];
  let on = true;
  const probes = (async () => {
    while (on) {
      const at = performance.now();
      const status = await http(engine.url, 'GET', '/health/ready').then((r) => r.status, () => 0);
      ready.push({ at, status });
      await sleep(50);
    }
  })();
  const timer = setInterval(() => {
    const bytes = rssBytes(engine.child.pid);
    if (bytes !== undefined) rss.push({ at: performance.now(), bytes });
  }, 100);
  return {
    ready,
    rss,
    async stop() {
      on = false;
      clearInterval(timer);
      await probes;
    },
  };
}

/** Products, buyers with ample points, and orders over them (some with two items). */
async function seed(url: string, orders: number): Promise<string[]> {
  const products = await Promise.all(Array.from({ length: 4 }, (_, i) => http(url, 'POST', '/products', { name: `p${i}`, price: 3 + i, stock: 300 })));
  const users = await Promise.all(Array.from({ length: 40 }, (_, i) => http(url, 'POST', '/users', { name: `u${i}`, points: 5000 })));
  const ids: string[] = [];
  for (let start = 0; start < orders; start += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, orders - start) }, (_, k) => {
        const i = start + k;
        const items = [{ productId: products[i % 4]?.body.id, quantity: 1 + (i % 3) }, ...(i % 5 === 0 ? [{ productId: products[(i + 1) % 4]?.body.id, quantity: 1 }] : [])];
        return http(url, 'POST', '/orders', { userId: users[i % users.length]?.body.id, items });
      }),
    );
    for (const o of batch) {
      assert.is(o.status, 201, JSON.stringify(o.body));
      ids.push(o.body.id);
    }
  }
  return ids;
}

async function untilAcknowledged(load: PayLoad, count: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (load.acknowledged.size < count && Date.now() < deadline) await sleep(20);
  assert.ok(load.acknowledged.size >= count, `${count} pays acknowledged before the outage`);
}

/** Waits until no order is PAYING (interrupted sagas resume on the sweeper), then checks every acknowledged pay. */
async function settled(url: string, load: PayLoad): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await http(url, 'GET', '/orders?status=PAYING&days=1&limit=1')).body.items.length > 0) {
    assert.ok(Date.now() < deadline, 'interrupted sagas finish once the database is back');
    await sleep(100);
  }
  for (const id of load.acknowledged) assert.is((await http(url, 'GET', `/orders/${id}`)).body.status, 'PAID', `acknowledged order ${id}`);
}

const writesDuring = (outcomes: readonly PayOutcome[], from: number, to: number) => outcomes.filter((o) => o.startedAt >= from && o.endedAt <= to);

const it = suite<Ctx>('database outage', { needs: ['pg_ctl'] });
{
  it.before(async (ctx) => {
    ctx.pg = await startPrivatePostgres();
  });
  it.after.each(async (ctx) => {
    await ctx.engine?.kill().catch(() => undefined);
    ctx.engine = undefined;
    await ctx.proxy?.close();
    ctx.proxy = undefined;
  });
  it.after(async (ctx) => {
    await ctx.pg?.destroy();
  });

  it('PostgreSQL stops mid-load and starts again: fast 503s, readiness red, bounded memory, recovery without a restart, nothing acknowledged lost', async (ctx) => {
    const engine = (ctx.engine = await startEngineProcess(ctx.pg.url, { SWEEP_INTERVAL_MS: '200' }));
    const orders = await seed(engine.url, 1000);
    const watcher = watch(engine);
    const load = payLoad(engine.url, orders, { workers: 24, retryDelayMs: 25 });
    await untilAcknowledged(load, 100, 10_000);

    const rssBefore = rssBytes(engine.child.pid) ?? 0;
    await ctx.pg.stop('immediate');
    const down = performance.now();
    await sleep(DOWN_MS);
    const restarting = performance.now();
    await ctx.pg.start();
    const up = performance.now();
    await load.done;
    await watcher.stop();

    const during = writesDuring(load.outcomes, down, restarting);
    assert.ok(during.length > 100, `writes kept coming while the database was down (${during.length})`);
    for (const o of during) {
      assert.is(o.status, 503, `a pay while the database is down answers 503, got ${o.status} ${o.code}`);
      assert.ok(o.endedAt - o.startedAt < FAST_503_MS, `503 within ${FAST_503_MS} ms, took ${Math.round(o.endedAt - o.startedAt)} ms`);
    }
    const first503 = load.outcomes.filter((o) => o.status === 503 && o.endedAt >= down).sort((a, b) => a.endedAt - b.endedAt)[0];
    const probesDown = watcher.ready.filter((p) => p.at >= down + 100 && p.at < restarting);
    assert.ok(probesDown.length > 10);
    assert.ok(
      probesDown.every((p) => p.status === 503),
      `readiness is red while the database is down: ${probesDown.map((p) => p.status).join(',')}`,
    );
    const rssDown = Math.max(...watcher.rss.filter((s) => s.at >= down && s.at < restarting).map((s) => s.bytes));
    assert.ok(rssDown - rssBefore < OUTAGE_RSS_GROWTH, `RSS grew ${((rssDown - rssBefore) / 2 ** 20).toFixed(1)} MiB while down`);
    const recovered = load.outcomes.filter((o) => o.status === 200 && o.startedAt >= up).sort((a, b) => a.endedAt - b.endedAt)[0];
    assert.ok(recovered, 'payments succeed again without a restart');
    assert.ok(recovered.endedAt - up < RECOVERY_MS, `first payment ${Math.round(recovered.endedAt - up)} ms after the database is back`);
    const readyAgain = watcher.ready.find((p) => p.at >= up && p.status === 200);
    assert.ok(readyAgain, 'readiness turns green again');
    console.log(
      `  outage: first 503 after ${Math.round((first503?.endedAt ?? down) - down)} ms, ${during.length} pays refused while down ` +
        `(slowest ${Math.round(Math.max(...during.map((o) => o.endedAt - o.startedAt)))} ms), RSS ${((rssDown - rssBefore) / 2 ** 20).toFixed(1)} MiB over ` +
        `${(rssBefore / 2 ** 20).toFixed(0)} MiB; ready ${Math.round(readyAgain.at - up)} ms and first payment ${Math.round(recovered.endedAt - up)} ms after restart; ` +
        `${load.acknowledged.size} paid, ${load.refused.size} refused`,
    );

    await settled(engine.url, load);
    assert.is(load.acknowledged.size + load.refused.size, orders.length, 'every order ends paid or refused');
    assert.is(await engine.stop(), 0);
    ctx.engine = undefined;
    const report = await checkInvariants(ctx.pg.url);
    assert.equal(report.problems, []);
    assert.equal(await appliedTwice(ctx.pg.url), []);
  });

  it('the network to PostgreSQL freezes mid-load and thaws: 503 within the journal time-out, held commits land late, nothing acknowledged lost', async (ctx) => {
    const proxy = (ctx.proxy = await startTcpProxy(Number(new URL(ctx.pg.url).port)));
    const url = proxy.via(ctx.pg.url.replace(/\/postgres$/, '/partition'));
    const admin = await import('postgres').then((m) => m.default(ctx.pg.url, { max: 1, onnotice: () => undefined }));
    await admin.unsafe('create database partition');
    await admin.end();
    const timeoutMs = 1000;
    const engine = (ctx.engine = await startEngineProcess(url, { SWEEP_INTERVAL_MS: '200', JOURNAL_TIMEOUT_MS: String(timeoutMs), REQUEST_TIMEOUT_MS: '3000' }));
    const orders = await seed(engine.url, 400);
    const load = payLoad(engine.url, orders, { workers: 16, retryDelayMs: 25 });
    await untilAcknowledged(load, 40, 10_000);

    proxy.freeze();
    const frozen = performance.now();
    await sleep(DOWN_MS);
    const thawing = performance.now();
    proxy.thaw();
    await load.done;

    const during = writesDuring(load.outcomes, frozen, thawing);
    assert.ok(during.length > 0, 'writes kept coming while the network was frozen');
    for (const o of during) {
      assert.ok([200, 409, 503].includes(o.status), `a pay answers, got ${o.status}`);
      // The journal time-out bounds a commit; a pay may wait for one commit and one recovery read.
      assert.ok(o.endedAt - o.startedAt < 2 * timeoutMs + 500, `answered within ${2 * timeoutMs + 500} ms, took ${Math.round(o.endedAt - o.startedAt)} ms`);
    }
    const slowest = Math.max(...load.outcomes.filter((o) => o.endedAt >= frozen && o.startedAt < thawing).map((o) => o.endedAt - o.startedAt));
    console.log(`  partition: ${during.length} pays answered while frozen, slowest ${Math.round(slowest)} ms (journal time-out ${timeoutMs} ms)`);

    await settled(engine.url, load);
    assert.is(await engine.stop(), 0);
    ctx.engine = undefined;
    const direct = ctx.pg.url.replace(/\/postgres$/, '/partition');
    const report = await checkInvariants(direct);
    assert.equal(report.problems, []);
    assert.equal(await appliedTwice(direct), []);
  });
}

it.run();
