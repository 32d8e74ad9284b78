// Two registries in one test process, each hosting some kinds, joined by the NATS transport: asks, a whole payment saga and its trace context cross between them as JSON.

import { connect, type NatsConnection } from '@nats-io/transport-node';
import * as assert from 'uvu/assert';
import type { Address } from '../../actors/shared/entity.js';
import { NatsTransport } from '../../src/cluster/nats-transport.js';
import { hostedKinds } from '../../src/engine/kinds.js';
import { startSystem, type ActorSystem } from '../../src/engine/nact.js';
import { Registry } from '../../src/engine/registry.js';
import { FakeJournal } from '../helpers/fake-journal.js';
import { privateNats, type PrivateNats } from '../helpers/nats.js';
import { RecordingSpans, traceparent } from '../helpers/recording-spans.js';
import { suite } from '../helpers/suite.js';

interface Member {
  readonly registry: Registry;
  readonly journal: FakeJournal;
  readonly transport: NatsTransport;
  readonly system: ActorSystem;
  readonly nc: NatsConnection;
  /** Outside any trace unless a test sets `active`: then nothing is traced. */
  readonly spans: RecordingSpans;
}

const base = { snapshotEvery: 100, windowSize: 100, replayPageSize: 100, maxLive: 1000, mailboxMax: 1000, idleMs: 60_000, askTimeoutMs: 5000 };

/** Users and orders live on `a`, products on `b`. */
const ownerOf = (to: Address) => (to.kind === 'product' ? 'b' : 'a');

const it = suite<{ nats: PrivateNats; a: Member; b: Member }>('NATS transport between registries', { needs: ['nats-server'] });
it.before(async (ctx) => {
  ctx.nats = await privateNats();
  const member = async (node: string): Promise<Member> => {
    const nc = await connect({ servers: ctx.nats.url });
    const journal = new FakeJournal();
    const transport = new NatsTransport(nc, { prefix: 'test', node, ownerOf, waitForOwnerMs: 2000 });
    const system = startSystem();
    const spans = new RecordingSpans(node);
    const registry = new Registry(system, hostedKinds, journal, { ...base, spans, remote: { node, hosts: (to) => ownerOf(to) === node, transport } });
    transport.listen(registry);
    // The subscription reaches the server before anyone sends to it (a member is routed to only once it holds shards, later still).
    await nc.flush();
    return { registry, journal, transport, system, nc, spans };
  };
  ctx.a = await member('a');
  ctx.b = await member('b');
});
it.after(async (ctx) => {
  for (const m of [ctx.a, ctx.b]) {
    if (!m) continue;
    m.registry.close();
    await m.transport.close();
    m.system.stop();
    await m.nc.close();
  }
  await ctx.nats?.dispose();
});

it('an ask for an actor hosted by the other process is answered there and comes back', async ({ a, b }) => {
  const created = await a.registry.create({ kind: 'product', id: 'p1' }, { type: 'CreateProduct', name: 'lamp', price: 30, stock: 5 });
  assert.equal(created, { ok: true, value: { id: 'p1', name: 'lamp', price: 30, stock: 5 } });
  assert.is(a.registry.liveActors().length, 0, 'nothing activated on a');
  assert.equal(b.registry.liveActors().map((l) => `${l.kind}-${l.id}`), ['product-p1']);
  assert.is(b.journal.events.get('product-p1')?.length, 1, "the event is in b's journal");
  const read = await b.registry.read({ kind: 'product', id: 'p1' });
  assert.is(read.ok && read.value.stock, 5);
});

it('a payment saga crosses processes: the order and user on a, the product on b; each step commits before it leaves', async ({ a, b }) => {
  assert.ok((await a.registry.create({ kind: 'user', id: 'u1' }, { type: 'CreateUser', name: 'ada', points: 500 })).ok);
  assert.ok((await b.registry.create({ kind: 'product', id: 'p2' }, { type: 'CreateProduct', name: 'desk', price: 120, stock: 3 })).ok);
  const order = await a.registry.create(
    { kind: 'order', id: 'o1' },
    { type: 'CreateOrder', userId: 'u1', items: [{ productId: 'p2', quantity: 2, unitPrice: 120 }], ttlMs: 60_000 },
  );
  assert.ok(order.ok, JSON.stringify(order));
  // Asked through b: b hosts no order, so the pay itself crosses too.
  const paid = await b.registry.ask({ kind: 'order', id: 'o1' }, { type: 'PayOrder' });
  assert.is(paid.ok && paid.value.status, 'PAID', JSON.stringify(paid));
  const product = await a.registry.read({ kind: 'product', id: 'p2' });
  assert.is(product.ok && product.value.stock, 1);
  const user = await b.registry.read({ kind: 'user', id: 'u1' });
  assert.is(user.ok && user.value.points, 260);
  assert.ok(b.journal.events.get('product-p2')?.some((e) => e.type === 'StockReserved'), "the reservation is in b's journal");
  assert.ok(a.journal.events.get('user-u1')?.some((e) => e.type === 'PointsDebited'), "the debit is in a's journal");
});

it('a step whose commit fails on the far side counts as not done: the saga releases and the pay fails, nothing is kept', async ({ a, b }) => {
  assert.ok((await a.registry.create({ kind: 'user', id: 'u2' }, { type: 'CreateUser', name: 'bo', points: 500 })).ok);
  assert.ok((await a.registry.create({ kind: 'product', id: 'p3' }, { type: 'CreateProduct', name: 'chair', price: 10, stock: 3 })).ok);
  assert.ok((await a.registry.create({ kind: 'order', id: 'o2' }, { type: 'CreateOrder', userId: 'u2', items: [{ productId: 'p3', quantity: 1, unitPrice: 10 }], ttlMs: 60_000 })).ok);
  b.journal.autoCommit = false;
  const paying = a.registry.ask({ kind: 'order', id: 'o2' }, { type: 'PayOrder' });
  const { until } = await import('../helpers/until.js');
  await until(() => b.journal.held.length > 0, "the reservation waits for b's commit");
  b.journal.failAll();
  b.journal.autoCommit = true;
  const answer = await paying;
  assert.not.ok(answer.ok && answer.value.status === 'PAID', JSON.stringify(answer));
  const product = await a.registry.read({ kind: 'product', id: 'p3' });
  assert.is(product.ok && product.value.stock, 3, 'no stock taken');
  const user = await a.registry.read({ kind: 'user', id: 'u2' });
  assert.is(user.ok && user.value.points, 500, 'no points taken');
});

it('a process asks whether another still listens: yes while its subscription is there, no once it is gone', async ({ nats, a }) => {
  assert.ok(await a.transport.listening('b'));
  const nc = await connect({ servers: nats.url });
  const c = new NatsTransport(nc, { prefix: 'test', node: 'c', ownerOf, waitForOwnerMs: 2000 });
  c.listen({ post: () => undefined, deliver: () => undefined });
  await nc.flush();
  assert.ok(await a.transport.listening('c'));
  await nc.close();
  // The server lets go of the subscription a moment after the connection closes.
  const { until } = await import('../helpers/until.js');
  await until(async () => !(await a.transport.listening('c')), 'a closed connection listens no more');
  assert.not.ok(await a.transport.listening('never-was'));
});

it('the trace context crosses processes inside the envelopes: each step at its actor is the child of the span that sent it', async ({ a, b }) => {
  assert.ok((await a.registry.create({ kind: 'user', id: 'u3' }, { type: 'CreateUser', name: 'cy', points: 500 })).ok);
  assert.ok((await b.registry.create({ kind: 'product', id: 'p4' }, { type: 'CreateProduct', name: 'shelf', price: 50, stock: 3 })).ok);
  assert.ok((await a.registry.create({ kind: 'order', id: 'o3' }, { type: 'CreateOrder', userId: 'u3', items: [{ productId: 'p4', quantity: 1, unitPrice: 50 }], ttlMs: 60_000 })).ok);
  // The pay is asked on b, inside a trace there; the order lives on a.
  const root = traceparent('2'.repeat(32), 'beef');
  b.spans.active = root;
  const paying = b.registry.ask({ kind: 'order', id: 'o3' }, { type: 'PayOrder' });
  b.spans.active = undefined;
  const paid = await paying;
  assert.is(paid.ok && paid.value.status, 'PAID', JSON.stringify(paid));
  const pay = a.spans.handled.find((h) => h.command === 'PayOrder' && h.actor.id === 'o3');
  assert.is(pay?.parent, root, "PayOrder on a is the child of the caller's span on b");
  const reserve = b.spans.handled.find((h) => h.command === 'ReserveStock' && h.actor.id === 'p4');
  assert.is(reserve?.parent, pay?.traceparent, "ReserveStock on b is the child of PayOrder's span on a");
  const answered = a.spans.handled.find((h) => h.command === 'StepReplied' && h.parent === reserve?.traceparent);
  assert.ok(answered, "the reservation's answer at the order on a is the child of ReserveStock's span on b");
});

it.run();
