// SIGTERM under load: the engine stops taking requests, answers those in flight, flushes the journal and exits 0.

import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';
import * as assert from 'uvu/assert';
import { connect } from '../../src/db/connect.js';
import { appliedTwice } from '../helpers/applied-once.js';
import { http, startEngineProcess, type EngineProcess } from '../helpers/child.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { checkInvariants } from '../helpers/invariants.js';
import { payLoad } from '../helpers/pay-load.js';
import { prng } from '../helpers/prng.js';

async function statuses(url: string, ids: readonly string[]): Promise<Map<string, string>> {
  const { db, close } = await connect({ url, dataDir: '', poolSize: 1 });
  try {
    const rows = ids.length === 0 ? [] : await db.selectFrom('orders').select(['id', 'status']).where('id', 'in', [...ids]).execute();
    return new Map(rows.map((r) => [r.id, r.status]));
  } finally {
    await close();
  }
}

for (const [index, kind] of databaseKinds().filter((k) => k.name !== 'mysql').entries()) {
  const it = suite<{ db: TestDatabase; engine?: EngineProcess }>(`SIGTERM on ${kind.name}`, { needs: kind.needs });
  it.before(async (ctx) => {
    ctx.db = await kind.create();
  });
  it.after(async (ctx) => {
    await ctx.engine?.kill().catch(() => undefined);
    await ctx.db?.drop();
  });

  it('SIGTERM during load: in-flight pays are answered, later ones refused, the journal is flushed, exit code 0', async (ctx) => {
    const engine = (ctx.engine = await startEngineProcess(ctx.db.url, { SWEEP_INTERVAL_MS: '60000' }));
    const product = (await http(engine.url, 'POST', '/products', { name: 'steady', price: 2, stock: 100_000 })).body.id;
    const users = await Promise.all(Array.from({ length: 30 }, (_, i) => http(engine.url, 'POST', '/users', { name: `u${i}`, points: 100_000 })));
    const orders: string[] = [];
    for (let start = 0; start < 1200; start += 100) {
      const batch = await Promise.all(
        Array.from({ length: 100 }, (_, k) => http(engine.url, 'POST', '/orders', { userId: users[(start + k) % 30]?.body.id, items: [{ productId: product, quantity: 1 }] })),
      );
      orders.push(...batch.map((o) => o.body.id as string));
    }

    const load = payLoad(engine.url, orders, { workers: 48, retryDelayMs: 1000 });
    await until(() => load.acknowledged.size >= 100, '100 pays acknowledged before SIGTERM', 60_000, 5);
    await new Promise((r) => setTimeout(r, Math.floor(prng(500 + index)() * 100)));
    const term = performance.now();
    const exitCode = await engine.stop();
    ctx.engine = undefined;
    load.stop();
    await load.done;

    assert.is(exitCode, 0, 'the engine exits 0 after SIGTERM');
    for (const o of load.outcomes) {
      assert.ok([0, 200, 503].includes(o.status), `a pay answered ${o.status} ${o.code}`);
      // Sent once the engine began to close: refused (503) or no connection (0). Sent before: answered.
      if (o.status === 503) assert.ok(o.startedAt >= term - 5 && o.code === 'SHUTTING_DOWN', `503 ${o.code} only for pays sent after SIGTERM`);
      if (o.status === 0) assert.ok(o.startedAt >= term - 5, `a pay sent ${Math.round(term - o.startedAt)} ms before SIGTERM got no answer`);
    }
    const drained = load.outcomes.filter((o) => o.status === 200 && o.startedAt < term && o.endedAt > term);
    assert.ok(drained.length > 0, 'pays in flight at SIGTERM were answered');
    console.log(
      `  SIGTERM on ${kind.name}: ${load.acknowledged.size} paid, ${drained.length} of them in flight at SIGTERM, ` +
        `${load.outcomes.filter((o) => o.status === 503).length} refused, ${load.outcomes.filter((o) => o.status === 0).length} without an answer`,
    );

    // Read straight from the database the engine left: nothing half-done, every acknowledged pay there.
    const report = await checkInvariants(ctx.db.url);
    assert.equal(report.problems, [], 'no saga left PAYING, stock and points add up');
    const left = await statuses(ctx.db.url, [...load.acknowledged]);
    for (const id of load.acknowledged) assert.is(left.get(id), 'PAID', `acknowledged order ${id}`);
    assert.equal(await appliedTwice(ctx.db.url), []);
  });

  it.run();
}
