// The outbox of a cluster: every OrderPaid reaches the webhook and JetStream at least once, a killed member's rows are delivered by the next owners, and each order's events arrive in the order they happened.

import * as assert from 'uvu/assert';
import { connect } from '../../src/db/connect.js';
import { http, startEngineProcess, type EngineProcess } from '../helpers/child.js';
import { availableDatabaseKinds, type TestDatabase } from '../helpers/databases.js';
import { reconcileOrderPaid } from '../helpers/delivery.js';
import { checkInvariants } from '../helpers/invariants.js';
import { privateNats, readStream, uniqueStream, type PrivateNats } from '../helpers/nats.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';
import { webhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const SHARDS = 16;
const ADMIN = { authorization: 'Bearer cluster-test' };

interface Ctx {
  nats: PrivateNats;
  db: TestDatabase;
  webhook: WebhookReceiver;
  stream: ReturnType<typeof uniqueStream>;
  engines: EngineProcess[];
}

const served = async (e: EngineProcess) => ((await (await fetch(`${e.url}/admin/cluster`, { headers: ADMIN })).json()) as { owners: Record<string, string> }).owners;

const postgres = availableDatabaseKinds().find((k) => k.name === 'postgres');
const it = suite<Ctx>('outbox of a cluster', { needs: ['postgres', 'nats-server'] });
it.before(async (ctx) => {
  ctx.nats = await privateNats();
  ctx.db = await postgres!.create();
  // Slow answers keep rows waiting in the table, so the member killed below leaves some behind.
  ctx.webhook = await webhookReceiver(() => ({ status: 200, afterMs: 30 }));
  ctx.stream = uniqueStream('cluster');
  const env = (node: string) => ({
    CLUSTER_NATS_URL: ctx.nats.url,
    CLUSTER_NAME: 'outbox',
    NODE_NAME: node,
    CLUSTER_SHARDS: String(SHARDS),
    CLUSTER_LEASE_MS: '2000',
    ADMIN_TOKEN: 'cluster-test',
    SWEEP_INTERVAL_MS: '200',
    REQUEST_TIMEOUT_MS: '8000',
    DATA_PLATFORM_URL: ctx.webhook.url,
    OUTBOX_CONCURRENCY: '4',
    NATS_URL: ctx.nats.url,
    ...ctx.stream.env,
  });
  ctx.engines = await Promise.all(['o1', 'o2', 'o3'].map((n) => startEngineProcess(ctx.db.url, env(n))));
  await until(async () => {
    for (const e of ctx.engines) if (Object.keys(await served(e)).length !== SHARDS) return false;
    return new Set(Object.values(await served(ctx.engines[0]!))).size === 3;
  }, 'three members share the shards');
});
it.after(async (ctx) => {
  for (const e of ctx.engines ?? []) await e.kill().catch(() => undefined);
  await ctx.webhook?.close();
  await ctx.db?.drop();
  await ctx.nats?.dispose();
});

it('a member killed with rows undelivered: every OrderPaid reaches both sinks, and each order’s events arrive in the order they happened', async (ctx) => {
  const [victim, ...rest] = ctx.engines as [EngineProcess, ...EngineProcess[]];
  const at = (i: number) => ctx.engines[i % ctx.engines.length]!.url;
  const products = await Promise.all([0, 1, 2].map(async (i) => (await http(at(i), 'POST', '/products', { name: `p${i}`, price: 3, stock: 1000 })).body.id as string));
  const users = await Promise.all(Array.from({ length: 12 }, async (_, i) => (await http(at(i), 'POST', '/users', { name: `u${i}`, points: 10_000 })).body.id as string));
  const orders: string[] = [];
  for (let i = 0; i < 90; i++) {
    // Two products each, so a payment's reservations are written by other members than its order's.
    const items = [{ productId: products[i % 3]!, quantity: 1 }, { productId: products[(i + 1) % 3]!, quantity: 2 }];
    orders.push((await http(at(i), 'POST', '/orders', { userId: users[i % users.length], items })).body.id as string);
  }
  const first = await Promise.all(orders.slice(0, 60).map((id, i) => http(at(i), 'POST', `/orders/${id}/pay`)));
  for (const a of first) assert.is(a.status, 200, JSON.stringify(a.body));

  const tables = await connect({ url: ctx.db.url, dataDir: '', poolSize: 1 });
  const waiting = async () => Number((await tables.db.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst())?.n ?? 0);
  assert.ok((await waiting()) > 0, 'rows still wait for the slow webhook');
  await victim.kill();
  ctx.engines = rest;
  const paidAfter = [];
  for (const [i, id] of orders.slice(60).entries()) {
    for (let attempt = 0; ; attempt++) {
      const a = await http(rest[i % rest.length]!.url, 'POST', `/orders/${id}/pay`).catch(() => undefined);
      if (a?.status === 200) {
        paidAfter.push(id);
        break;
      }
      // The victim's shards answer 503 until their leases run out.
      assert.ok(attempt < 400 && (a === undefined || a.status === 503), `pay of ${id} answered ${a?.status} ${JSON.stringify(a?.body)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  assert.is(paidAfter.length, 30);

  await until(async () => (await waiting()) === 0, 'the outbox table is empty: every row delivered by a live member', 120_000, 200);
  const reconciled = await reconcileOrderPaid(ctx.db.url, { webhook: ctx.webhook, nats: { url: ctx.nats.url, stream: ctx.stream.stream } });
  assert.is(reconciled.orderPaid, 90);
  assert.equal(reconciled.missing, { webhook: [], nats: [] });

  // Per order, the first arrival of each event: its reservations and its debit before its OrderPaid.
  const firstSeen = new Map<string, Map<string, number>>();
  ctx.webhook.calls.forEach((call, i) => {
    if (call.answered !== 200) return;
    const seen = firstSeen.get(call.body.orderId) ?? new Map<string, number>();
    firstSeen.set(call.body.orderId, seen);
    if (!seen.has(call.key)) seen.set(call.key, i);
  });
  const stream = await readStream(ctx.nats.url, ctx.stream.stream);
  for (const orderId of orders) {
    const seen = [...(firstSeen.get(orderId) ?? new Map<string, number>())].map(([key, i]) => ({ i, type: ctx.webhook.calls[i]!.body.type as string, key }));
    const paid = seen.find((s) => s.type === 'OrderPaid');
    assert.ok(paid, `OrderPaid of ${orderId} reached the webhook`);
    const before = seen.filter((s) => s.type === 'StockReserved' || s.type === 'PointsDebited');
    assert.is(before.length, 3, `two reservations and a debit of ${orderId} reached the webhook`);
    for (const s of before) assert.ok(s.i < paid.i, `${s.type} ${s.key} reached the webhook before OrderPaid of ${orderId}`);
    // JetStream keeps what it was sent in the order it got it (duplicates dropped by message id).
    const inStream = stream.filter((m) => m.body.orderId === orderId).map((m) => m.body.type as string);
    assert.is(inStream.at(-1), 'OrderPaid', `OrderPaid is the last of ${orderId}'s events in the stream: ${inStream.join(', ')}`);
  }
  await tables.close();
  assert.equal((await checkInvariants(ctx.db.url)).problems, []);
});

it.run();
