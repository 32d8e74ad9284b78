// The webhook sink against a real local HTTP receiver that fails, hangs, answers 500 or is down: at least once, in order, dead letters, admin retry.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { call, startApp, type TestApp } from '../helpers/engine.js';
import { until } from '../helpers/until.js';
import { webhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const admin = { authorization: 'Bearer test-token' };

/** Fast retries so that a test sees many of them; the breaker opens after 5 failures in a row. */
const relayEnv = (url: string, maxAttempts: number): Record<string, string> => ({
  DATA_PLATFORM_URL: url,
  OUTBOX_MAX_ATTEMPTS: String(maxAttempts),
  OUTBOX_BACKOFF_MS: '5',
  OUTBOX_BACKOFF_MAX_MS: '40',
  OUTBOX_TIMEOUT_MS: '300',
  OUTBOX_BREAKER_FAILURES: '5',
  OUTBOX_BREAKER_HALF_OPEN_MS: '100',
});

async function shop(t: TestApp, orders: number) {
  const user = (await call(t.app, 'POST', '/users', { name: 'buyer', points: 1_000_000 })).body;
  const product = (await call(t.app, 'POST', '/products', { name: 'lamp', price: 7, stock: 100_000 })).body;
  return Promise.all(
    Array.from({ length: orders }, async () => (await call(t.app, 'POST', '/orders', { userId: user.id, items: [{ productId: product.id, quantity: 1 }] })).body.id as string),
  );
}

async function payAll(t: TestApp, ids: readonly string[]): Promise<string[]> {
  const answers = await Promise.all(ids.map((id) => call(t.app, 'POST', `/orders/${id}/pay`)));
  answers.forEach((a, i) => assert.is(a.status, 200, `pay ${ids[i]}: ${JSON.stringify(a.body)}`));
  return [...ids];
}

/** The event types the receiver accepted for an order, in the order it first accepted them. */
function acceptedTypes(receiver: WebhookReceiver, orderId: string): string[] {
  const seen = new Set<string>();
  const types: string[] = [];
  for (const c of receiver.calls) {
    if (typeof c.answered !== 'number' || c.answered >= 300 || c.body?.orderId !== orderId || seen.has(c.key)) continue;
    seen.add(c.key);
    types.push(c.body.type);
  }
  return types;
}

const metric = async (t: TestApp, name: string): Promise<number> => {
  const line = (await call(t.app, 'GET', '/metrics')).text.split('\n').find((l) => l.startsWith(name));
  return Number(line?.split(' ').pop());
};

for (const kind of databaseKinds()) {
  const it = suite<{ db: TestDatabase; receiver: WebhookReceiver; t?: TestApp }>(`outbox webhook on ${kind.name}`, { needs: kind.needs });
  it.before(async (ctx) => {
    ctx.db = await kind.create();
    ctx.receiver = await webhookReceiver();
  });
  it.after.each(async (ctx) => {
    await ctx.t?.close();
    ctx.t = undefined;
  });
  it.after(async (ctx) => {
    await ctx.receiver?.close();
    await ctx.db?.drop();
  });

  it('failing first calls, time-outs, 500s and a receiver down: every event arrives, in order per order', async (ctx) => {
    const { receiver } = ctx;
    const t = (ctx.t = await startApp(ctx.db.url, relayEnv(receiver.url, 50)));
    const failures = new Map<string, number>();
    // The first 8 calls fail; then each event fails 0, 1 or 2 times (500, or no answer before the time-out).
    receiver.behave(({ key, nth }) => {
      if (nth < 8) return 500;
      const n = failures.get(key) ?? 0;
      failures.set(key, n + 1);
      const failFor = key.charCodeAt(key.length - 1) % 3;
      if (n >= failFor) return 200;
      return n === 0 ? 500 : 'hang';
    });
    const ids = await shop(t, 40);
    const paid = await payAll(t, ids.slice(0, 20));

    await receiver.down();
    paid.push(...(await payAll(t, ids.slice(20))));
    await until(() => t.engine.outboxStatus()[0]?.breaker === 'open', 'the breaker opens while the receiver is down');
    await receiver.up();

    await until(() => paid.every((id) => acceptedTypes(receiver, id).length === 3), 'every event of every paid order accepted');
    for (const id of paid) assert.equal(acceptedTypes(receiver, id), ['StockReserved', 'PointsDebited', 'OrderPaid'], `order ${id}`);
    const paidEvent = receiver.calls.find((c) => c.body?.type === 'OrderPaid' && c.body.orderId === paid[0])!;
    assert.is(paidEvent.key, paidEvent.body.id, 'Idempotency-Key is the event id');
    assert.equal(paidEvent.body.data.status, 'PAID');
    // Instants as in every HTTP body: ISO 8601 in UTC, the same instant the engine stored.
    const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    for (const instant of [paidEvent.body.at, paidEvent.body.data.createdAt, paidEvent.body.data.updatedAt]) assert.match(instant, ISO);
    assert.ok(Date.parse(paidEvent.body.data.createdAt) <= Date.parse(paidEvent.body.at), 'created before it was paid');
    assert.ok(receiver.calls.some((c) => c.answered === 'hang'), 'some calls timed out');
    await until(() => t.engine.outboxStatus()[0]?.lagSeconds === 0, 'the lag returns to zero');
    assert.is(t.engine.outboxStatus()[0]?.breaker, 'closed');
    assert.ok((await metric(t, 'orderengine_outbox_failed_attempts_total')) > 0);
    assert.is(await metric(t, 'orderengine_outbox_dead_letters'), 0);
  });

  it('dead letters after the last attempt, listed with their error; an admin retry delivers one', async (ctx) => {
    const { receiver } = ctx;
    const t = (ctx.t = await startApp(ctx.db.url, relayEnv(receiver.url, 3)));
    const ids = await shop(t, 6);
    const poisoned = ids[2]!;
    receiver.behave(({ body }) => (body?.orderId === poisoned ? 500 : 200));
    await payAll(t, ids);

    // The poisoned order's events each use up their attempts in turn; the other orders go through.
    await until(async () => (await call(t.app, 'GET', '/admin/dead-letters', undefined, admin)).body.items.length === 3, 'three dead letters');
    const list = (await call(t.app, 'GET', '/admin/dead-letters?limit=2', undefined, admin)).body;
    assert.is(list.items.length, 2);
    assert.type(list.nextCursor, 'string');
    const rest = (await call(t.app, 'GET', `/admin/dead-letters?cursor=${list.nextCursor}`, undefined, admin)).body;
    const dead = [...list.items, ...rest.items];
    assert.equal(dead.map((d: any) => d.type), ['StockReserved', 'PointsDebited', 'OrderPaid']);
    for (const d of dead) {
      assert.is(d.orderId, poisoned);
      assert.is(d.sink, 'webhook');
      assert.is(d.attempts, 3);
      assert.match(d.lastError, 'HTTP 500');
      assert.is(d.event.id, d.eventId);
    }
    for (const id of ids.filter((i) => i !== poisoned)) await until(() => acceptedTypes(receiver, id).length === 3, `order ${id} delivered`);
    assert.is(await metric(t, 'orderengine_outbox_dead_letters'), 3);

    const orderPaid = dead.find((d: any) => d.type === 'OrderPaid');
    // Still refused: the retry says so and the dead letter stays, with the new error.
    const refused = await call(t.app, 'POST', `/admin/dead-letters/${orderPaid.id}/retry`, undefined, admin);
    assert.is(refused.status, 502);
    assert.is(refused.body.error, 'DELIVERY_FAILED');
    receiver.behave(() => 200);
    const retried = await call(t.app, 'POST', `/admin/dead-letters/${orderPaid.id}/retry`, undefined, admin);
    assert.is(retried.status, 200, JSON.stringify(retried.body));
    assert.is(retried.body.eventId, orderPaid.eventId);
    assert.ok(receiver.accepted.has(orderPaid.eventId), 'the receiver has it');
    const left = (await call(t.app, 'GET', '/admin/dead-letters', undefined, admin)).body.items;
    assert.equal(left.map((d: any) => d.type), ['StockReserved', 'PointsDebited']);
    assert.is(await metric(t, 'orderengine_outbox_dead_letters'), 2);
    assert.is((await call(t.app, 'POST', `/admin/dead-letters/${orderPaid.id}/retry`, undefined, admin)).status, 404);
    assert.is((await call(t.app, 'POST', '/admin/dead-letters/x1/retry', undefined, admin)).status, 400);
    assert.is((await call(t.app, 'GET', '/admin/dead-letters')).status, 401);
  });

  it.run();
}
