// A private nats-server stopped in the middle of load and started again: payments go on, the breaker opens and closes, nothing is lost.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { availableDatabaseKinds, type TestDatabase } from '../helpers/databases.js';
import { call, startApp, type TestApp } from '../helpers/engine.js';
import { privateNats, readStream, uniqueStream, type PrivateNats } from '../helpers/nats.js';
import { until } from '../helpers/until.js';

/** Metric samples of one name, by their label text. */
async function samples(t: TestApp, name: string): Promise<number[]> {
  const text = (await call(t.app, 'GET', '/metrics')).text;
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => Number(l.split(' ').pop()));
}

{
  // The relay does not depend on the database here: one backend is enough, the fastest there is.
  const kind = availableDatabaseKinds().find((k) => k.name === 'postgres') ?? availableDatabaseKinds()[0]!;
  const it = suite<{ db: TestDatabase; nats: PrivateNats; t: TestApp }>(`outbox through a NATS outage on ${kind.name}`, { needs: [...kind.needs, 'nats-server'] });
  it.before(async (ctx) => {
    ctx.db = await kind.create();
    ctx.nats = await privateNats();
    ctx.t = await startApp(ctx.db.url, {
      NATS_URL: ctx.nats.url,
      ...uniqueStream('outage').env,
      NATS_STREAM: 'ORDERS',
      OUTBOX_TIMEOUT_MS: '500',
      OUTBOX_BACKOFF_MS: '20',
      OUTBOX_BACKOFF_MAX_MS: '200',
      OUTBOX_BREAKER_FAILURES: '3',
      OUTBOX_BREAKER_HALF_OPEN_MS: '200',
    });
  });
  it.after(async (ctx) => {
    await ctx.t?.close();
    await ctx.nats?.dispose();
    await ctx.db?.drop();
  });

  it('payments are acknowledged while NATS is down; afterwards every OrderPaid is in the stream once, the lag back to zero', async ({ t, nats }) => {
    const user = (await call(t.app, 'POST', '/users', { name: 'u', points: 10_000_000 })).body;
    const product = (await call(t.app, 'POST', '/products', { name: 'p', price: 2, stock: 1_000_000 })).body;
    const orders = await Promise.all(
      Array.from({ length: 240 }, async () => (await call(t.app, 'POST', '/orders', { userId: user.id, items: [{ productId: product.id, quantity: 1 }] })).body.id as string),
    );

    const paid: string[] = [];
    const paidWhileDown: string[] = [];
    const refused: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < orders.length) {
        const id = orders[next++]!;
        const r = await call(t.app, 'POST', `/orders/${id}/pay`);
        if (r.status !== 200) refused.push(`${r.status} ${JSON.stringify(r.body)}`);
        else {
          paid.push(id);
          if (!nats.running) paidWhileDown.push(id);
        }
        // Keep the load going for the whole outage rather than paying everything at once.
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, worker));

    await until(() => paid.length >= 40, 'some payments before the outage');
    await nats.stop();
    await until(async () => (await samples(t, 'orderengine_outbox_breaker_state'))[0] === 2, 'the breaker opens');
    await until(() => paidWhileDown.length >= 40, 'payments go on while NATS is down');
    assert.ok(t.engine.outboxStatus()[0]!.lagSeconds > 0, 'the outbox grows meanwhile');
    await nats.start();
    await load;
    assert.equal(refused, [], 'every payment was acknowledged');

    await until(() => t.engine.outboxStatus()[0]?.caughtUp === true, 'the relay catches up');
    assert.equal(await samples(t, 'orderengine_outbox_breaker_state'), [0], 'the breaker closed again');
    assert.equal(await samples(t, 'orderengine_outbox_lag_seconds'), [0]);
    assert.equal(await samples(t, 'orderengine_outbox_dead_letters'), [0]);
    assert.ok((await samples(t, 'orderengine_outbox_failed_attempts_total'))[0]! > 0);

    const messages = await readStream(nats.url, 'ORDERS');
    const ids = messages.map((m) => m.msgId);
    assert.is(new Set(ids).size, ids.length, 'no event twice');
    const orderPaid = new Set(messages.filter((m) => m.body.type === 'OrderPaid').map((m) => m.body.orderId));
    assert.is(orderPaid.size, paid.length);
    for (const id of paid) assert.ok(orderPaid.has(id), `OrderPaid of ${id}`);
    assert.is(messages.length, paid.length * 3, 'StockReserved, PointsDebited and OrderPaid of every paid order');
  });

  it.run();
}
