// NATS JetStream: every paid order's OrderPaid is in the stream exactly once per event id, even after a storm of retries.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { call, startApp, type TestApp } from '../helpers/engine.js';
import { deleteStream, readStream, sharedNatsUrl, uniqueStream, type StreamMessage } from '../helpers/nats.js';
import { tcpProxy, type TcpProxy } from '../helpers/delaying-proxy.js';
import { until } from '../helpers/until.js';

const metric = async (t: TestApp, name: string): Promise<number> => {
  const line = (await call(t.app, 'GET', '/metrics')).text.split('\n').find((l) => l.startsWith(name));
  return Number(line?.split(' ').pop() ?? 0);
};

/** Stream order of one order's events. */
const typesOf = (messages: readonly StreamMessage[], orderId: string) => messages.filter((m) => m.body.orderId === orderId).map((m) => m.body.type);

const natsUrl = sharedNatsUrl ?? 'nats://127.0.0.1:4222';
{
  const nats = new URL(natsUrl);
  for (const kind of databaseKinds()) {
    const it = suite<{ db: TestDatabase; proxy: TcpProxy; stream: ReturnType<typeof uniqueStream>; t: TestApp }>(`outbox to NATS JetStream on ${kind.name}`, { needs: [...kind.needs, 'nats'] });
    it.before(async (ctx) => {
      ctx.db = await kind.create();
      ctx.proxy = await tcpProxy(nats.hostname, Number(nats.port || 4222));
      ctx.stream = uniqueStream('once');
      // Acknowledgements held back longer than the time-out make every publish fail and be
      // retried; the breaker is set not to open, so the retries keep coming.
      ctx.t = await startApp(ctx.db.url, {
        NATS_URL: `nats://127.0.0.1:${ctx.proxy.port}`,
        ...ctx.stream.env,
        OUTBOX_TIMEOUT_MS: '150',
        OUTBOX_BACKOFF_MS: '10',
        OUTBOX_BACKOFF_MAX_MS: '80',
        OUTBOX_MAX_ATTEMPTS: '1000',
        OUTBOX_BREAKER_FAILURES: '1000000',
      });
    });
    it.after(async (ctx) => {
      await ctx.t?.close();
      await ctx.proxy?.close();
      await deleteStream(natsUrl, ctx.stream.stream);
      await ctx.db?.drop();
    });

    it('each event once in the stream after a retry storm; OrderPaid ids = paid orders; order kept per order', async ({ t, proxy, stream }) => {
      const user = (await call(t.app, 'POST', '/users', { name: 'u', points: 1_000_000 })).body;
      const product = (await call(t.app, 'POST', '/products', { name: 'p', price: 3, stock: 1_000_000 })).body;
      const create = (n: number) =>
        Promise.all(Array.from({ length: n }, async () => (await call(t.app, 'POST', '/orders', { userId: user.id, items: [{ productId: product.id, quantity: 1 }] })).body.id as string));
      const pay = async (ids: string[]) => {
        const answers = await Promise.all(ids.map((id) => call(t.app, 'POST', `/orders/${id}/pay`)));
        for (const a of answers) assert.is(a.status, 200);
      };

      const calm = await create(20);
      await pay(calm);
      await until(() => t.engine.outboxStatus()[0]?.caughtUp === true, 'the first orders are published');

      proxy.delayMs = 600;
      const stormy = await create(30);
      await pay(stormy);
      const cancelled = stormy.slice(0, 5);
      for (const id of cancelled) assert.is((await call(t.app, 'POST', `/orders/${id}/cancel`)).status, 200);
      await until(async () => (await metric(t, 'orderengine_outbox_failed_attempts_total')) >= 3 * 30, 'many publishes timed out and were retried');
      proxy.delayMs = 0;
      await until(() => t.engine.outboxStatus()[0]?.caughtUp === true, 'every event is acknowledged');

      const messages = await readStream(natsUrl, stream.stream);
      const ids = messages.map((m) => m.msgId);
      assert.is(new Set(ids).size, ids.length, 'no event id twice in the stream');
      for (const m of messages) {
        assert.is(m.msgId, m.body.id, 'Nats-Msg-Id is the event id');
        assert.is(m.subject, `${stream.prefix}.${m.body.type}`);
      }
      const paid = [...calm, ...stormy];
      const orderPaid = messages.filter((m) => m.body.type === 'OrderPaid');
      assert.is(orderPaid.length, paid.length, 'one OrderPaid per paid order');
      assert.equal(new Set(orderPaid.map((m) => m.body.orderId)), new Set(paid));
      assert.is(messages.length, paid.length * 3 + cancelled.length * 3);
      for (const id of paid) {
        const expected = ['StockReserved', 'PointsDebited', 'OrderPaid', ...(cancelled.includes(id) ? ['StockReleased', 'PointsRefunded', 'OrderCancelled'] : [])];
        const got = typesOf(messages, id);
        if (cancelled.includes(id)) {
          // The cancel's release and refund go out in parallel; its OrderCancelled comes after both, and after OrderPaid.
          assert.equal(got.slice(0, 3), expected.slice(0, 3), `order ${id}`);
          assert.equal(new Set(got.slice(3, 5)), new Set(['StockReleased', 'PointsRefunded']), `order ${id}`);
          assert.is(got[5], 'OrderCancelled', `order ${id}`);
        } else {
          assert.equal(got, expected, `order ${id}`);
        }
      }
      assert.is(await metric(t, 'orderengine_outbox_dead_letters'), 0);
      assert.is(await metric(t, 'orderengine_outbox_lag_seconds'), 0);
    });

    it.run();
  }
}
