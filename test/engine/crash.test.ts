// SIGKILL in the middle of a flash sale: after a restart every acknowledged payment is there, once, and the invariants hold.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { startEngineProcess, http, type EngineProcess } from '../helpers/child.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { checkInvariants } from '../helpers/invariants.js';
import { payLoad } from '../helpers/pay-load.js';
import { prng } from '../helpers/prng.js';
import { testSeed } from '../helpers/seed.js';
import { until } from '../helpers/until.js';

for (const kind of databaseKinds()) {
  const it = suite<{ db: TestDatabase; engine?: EngineProcess }>(`crash recovery on ${kind.name}`, { needs: kind.needs });
  it.before(async (ctx) => {
    ctx.db = await kind.create();
  });
  it.after(async (ctx) => {
    await ctx.engine?.kill().catch(() => undefined);
    await ctx.db?.drop();
  });

  it('SIGKILL mid-load: acknowledged pays survive, none twice, no order left PAYING', async (ctx) => {
    let engine = await startEngineProcess(ctx.db.url, { SWEEP_INTERVAL_MS: '200', SNAPSHOT_EVERY: '25' });
    ctx.engine = engine;
    const scarce = (await http(engine.url, 'POST', '/products', { name: 'scarce', price: 20, stock: 120 })).body;
    const plenty = (await http(engine.url, 'POST', '/products', { name: 'plenty', price: 3, stock: 100_000 })).body;
    const users = await Promise.all(Array.from({ length: 40 }, (_, i) => http(engine.url, 'POST', '/users', { name: `u${i}`, points: 400 })));
    const orders: string[] = [];
    for (let i = 0; i < 320; i++) {
      const items = [{ productId: scarce.id, quantity: 1 + (i % 2) }, ...(i % 3 === 0 ? [{ productId: plenty.id, quantity: 2 }] : [])];
      const created = await http(engine.url, 'POST', '/orders', { userId: users[i % users.length]?.body.id, items });
      assert.is(created.status, 201);
      orders.push(created.body.id);
    }

    // The kill lands once a seeded number of pays is answered, with the other workers' pays in flight.
    const seed = testSeed(`crash recovery on ${kind.name}`);
    const answersBeforeKill = 10 + Math.floor(prng(seed)() * 150);
    const load = payLoad(engine.url, orders, { workers: 32, retryDelayMs: 10 });
    await until(() => load.acknowledged.size + load.refused.size >= answersBeforeKill, `${answersBeforeKill} pays answered`);
    const inFlight = load.inFlight;
    await engine.kill();
    await load.done;
    const acknowledged = load.acknowledged;
    assert.ok(inFlight > 0, `pays were in flight when the kill landed (seed ${seed})`);
    assert.ok(acknowledged.size > 0, `some pays were acknowledged before the kill (seed ${seed})`);

    engine = await startEngineProcess(ctx.db.url, { SWEEP_INTERVAL_MS: '200' });
    ctx.engine = engine;
    await until(async () => (await http(engine.url, 'GET', '/orders?status=PAYING&days=1&limit=1')).body.items.length === 0, 'interrupted sagas finish after the restart', 60_000, 100);
    for (const id of acknowledged) assert.is((await http(engine.url, 'GET', `/orders/${id}`)).body.status, 'PAID', `acknowledged order ${id}`);
    // Orders nobody paid yet can still be paid after the restart.
    const leftover = orders.find((id) => !acknowledged.has(id));
    if (leftover) assert.ok([200, 409].includes((await http(engine.url, 'POST', `/orders/${leftover}/pay`)).status));

    assert.is(await engine.stop(), 0);
    ctx.engine = undefined;
    const report = await checkInvariants(ctx.db.url);
    assert.equal(report.problems, []);
    assert.ok(report.paid >= acknowledged.size);
  });

  it.run();
}
