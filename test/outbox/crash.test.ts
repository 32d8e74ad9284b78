// SIGKILL of the engine while the relay is delivering: after a restart every committed outbox event reaches every sink.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { connect } from '../../src/db/connect.js';
import { http, startEngineProcess, type EngineProcess } from '../helpers/child.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { reconcileOrderPaid } from '../helpers/delivery.js';
import { deleteStream, readStream, sharedNatsUrl, uniqueStream } from '../helpers/nats.js';
import { until } from '../helpers/until.js';
import { webhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const OUTBOX_EVENTS = ['OrderPaid', 'OrderCancelled', 'OrderFailed', 'StockReserved', 'StockReleased', 'PointsDebited', 'PointsRefunded'];

/** The ids of every committed event that goes through the outbox, read from the journal, and the rows still waiting. */
async function committed(url: string): Promise<{ ids: Set<string>; paidOrders: number; waiting: number }> {
  const { db, close } = await connect({ url, dataDir: '', poolSize: 1 });
  try {
    const events = await db.selectFrom('journal').select(['persistence_key', 'sequence_nr', 'event_type']).where('event_type', 'in', OUTBOX_EVENTS).execute();
    const waiting = await db.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return {
      ids: new Set(events.map((e) => `${e.persistence_key}:${Number(e.sequence_nr)}`)),
      paidOrders: events.filter((e) => e.event_type === 'OrderPaid').length,
      waiting: Number(waiting?.n),
    };
  } finally {
    await close();
  }
}

for (const kind of databaseKinds()) {
  const it = suite<{ db: TestDatabase; receiver: WebhookReceiver; engine?: EngineProcess; stream: ReturnType<typeof uniqueStream> }>(
    `outbox after SIGKILL on ${kind.name}`,
  );
  it.before(async (ctx) => {
    ctx.db = await kind.create();
    ctx.stream = uniqueStream('crash');
    // A slow receiver keeps a backlog in the outbox, so that the kill finds deliveries under way.
    ctx.receiver = await webhookReceiver(() => ({ status: 200, afterMs: 15 }));
  });
  it.after(async (ctx) => {
    await ctx.engine?.kill().catch(() => undefined);
    await ctx.receiver?.close();
    if (sharedNatsUrl) await deleteStream(sharedNatsUrl, ctx.stream.stream);
    await ctx.db?.drop();
  });

  it(`SIGKILL mid-delivery: every committed event reaches the webhook${sharedNatsUrl ? ' and JetStream (once)' : ''} after the restart`, async (ctx) => {
    const env = {
      DATA_PLATFORM_URL: ctx.receiver.url,
      ...(sharedNatsUrl ? { NATS_URL: sharedNatsUrl, ...ctx.stream.env } : {}),
      OUTBOX_CONCURRENCY: '4',
      OUTBOX_BACKOFF_MS: '10',
    };
    let engine = (ctx.engine = await startEngineProcess(ctx.db.url, env));
    const user = (await http(engine.url, 'POST', '/users', { name: 'u', points: 10_000_000 })).body;
    const product = (await http(engine.url, 'POST', '/products', { name: 'p', price: 5, stock: 1_000_000 })).body;
    const orders = await Promise.all(
      Array.from({ length: 160 }, async () => (await http(engine.url, 'POST', '/orders', { userId: user.id, items: [{ productId: product.id, quantity: 1 }] })).body.id as string),
    );

    const acknowledged = new Set<string>();
    let inFlight = 0;
    let next = 0;
    const worker = async () => {
      while (next < orders.length) {
        const id = orders[next++]!;
        inFlight++;
        try {
          if ((await http(engine.url, 'POST', `/orders/${id}/pay`)).status === 200) acknowledged.add(id);
        } catch {
          return; // the engine is gone
        } finally {
          inFlight--;
        }
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, worker));
    await until(() => acknowledged.size >= 40 && ctx.receiver.accepted.size > 0, 'payments acknowledged and deliveries under way');
    const paysInFlight = inFlight;
    await engine.kill();
    await load;
    assert.ok(paysInFlight > 0, 'pays were in flight when the kill landed');
    const receivedBeforeKill = ctx.receiver.accepted.size;

    engine = ctx.engine = await startEngineProcess(ctx.db.url, env);
    await until(async () => {
      const ready = await http(engine.url, 'GET', '/health/ready');
      return ready.status === 200 && ready.body.outbox.length === (sharedNatsUrl ? 2 : 1) && ready.body.outbox.every((s: any) => s.caughtUp);
    }, 'every sink caught up after the restart');
    assert.is(await engine.stop(), 0);
    ctx.engine = undefined;

    const { ids, paidOrders, waiting } = await committed(ctx.db.url);
    assert.ok(paidOrders >= acknowledged.size, `${paidOrders} OrderPaid committed, ${acknowledged.size} acknowledged`);
    assert.ok(ids.size > receivedBeforeKill, 'the kill left events undelivered');
    assert.is(waiting, 0, 'the outbox is empty');
    const missing = [...ids].filter((id) => !ctx.receiver.accepted.has(id));
    assert.equal(missing, [], 'the webhook got every committed event');
    if (sharedNatsUrl) {
      const messages = await readStream(sharedNatsUrl, ctx.stream.stream);
      const inStream = messages.map((m) => m.msgId!);
      assert.is(new Set(inStream).size, inStream.length, 'JetStream holds each event once');
      assert.equal([...ids].filter((id) => !inStream.includes(id)), [], 'JetStream got every committed event');
      assert.is(inStream.length, ids.size);
    }

    // Reconciled per acknowledged order: its OrderPaid reached every sink (none is dead-lettered here).
    const reconciled = await reconcileOrderPaid(ctx.db.url, { webhook: ctx.receiver, ...(sharedNatsUrl ? { nats: { url: sharedNatsUrl, stream: ctx.stream.stream } } : {}) });
    assert.equal(reconciled.missing, sharedNatsUrl ? { webhook: [], nats: [] } : { webhook: [] });
    const paidDelivered = new Set(ctx.receiver.calls.filter((c) => c.body?.type === 'OrderPaid' && ctx.receiver.accepted.has(c.key)).map((c) => c.body.orderId));
    assert.equal([...acknowledged].filter((id) => !paidDelivered.has(id)), [], 'every acknowledged order’s OrderPaid reached the webhook');
  });

  it.run();
}
