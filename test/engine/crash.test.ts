// SIGKILL in the middle of a flash sale: after a restart every acknowledged payment is there, once, and the invariants hold.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { startEngineProcess, http, type EngineProcess } from '../helpers/child.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { checkInvariants } from '../helpers/invariants.js';

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

    const acknowledged = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next < orders.length) {
        const id = orders[next++] as string;
        try {
          const r = await http(engine.url, 'POST', `/orders/${id}/pay`);
          if (r.status === 200 && r.body.status === 'PAID') acknowledged.add(id);
        } catch {
          return; // the engine is gone
        }
      }
    };
    const load = Promise.all(Array.from({ length: 32 }, worker));
    const killAfter = 150 + Math.floor(Math.random() * 250);
    await new Promise((r) => setTimeout(r, killAfter));
    await engine.kill();
    await load;
    assert.ok(acknowledged.size > 0, `some pays were acknowledged before the kill at ${killAfter} ms`);

    engine = await startEngineProcess(ctx.db.url, { SWEEP_INTERVAL_MS: '200' });
    ctx.engine = engine;
    const deadline = Date.now() + 30_000;
    while ((await http(engine.url, 'GET', '/orders?status=PAYING&days=1&limit=1')).body.items.length > 0) {
      assert.ok(Date.now() < deadline, 'interrupted sagas finish after the restart');
      await new Promise((r) => setTimeout(r, 100));
    }
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
