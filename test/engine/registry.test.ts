// The registry on its own, over a fake journal: activation, the live-actor cap, time-outs, a full mailbox, and the transport seam.

import * as assert from 'uvu/assert';
import type { Address } from '../../actors/shared/entity.js';
import type { Envelope } from '../../src/engine/envelope.js';
import { hostedKinds } from '../../src/engine/kinds.js';
import { startSystem, type ActorSystem } from '../../src/engine/nact.js';
import { Registry, type RegistryOptions } from '../../src/engine/registry.js';
import { FakeJournal } from '../helpers/fake-journal.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';

const base: RegistryOptions = { snapshotEvery: 100, windowSize: 100, replayPageSize: 100, maxLive: 3, mailboxMax: 1000, idleMs: 60_000, askTimeoutMs: 5000 };

const it = suite<{ system: ActorSystem; registries: Registry[] }>('Registry');
it.before.each((ctx) => {
  ctx.system = startSystem();
  ctx.registries = [];
});
it.after.each((ctx) => {
  for (const r of ctx.registries) r.close();
  ctx.system.stop();
});

const make = (ctx: { system: ActorSystem; registries: Registry[] }, journal: FakeJournal, options: Partial<RegistryOptions> = {}) => {
  const registry = new Registry(ctx.system, hostedKinds, journal, { ...base, ...options });
  ctx.registries.push(registry);
  return registry;
};

it('creates, asks and reads an actor; types follow the kind', async (ctx) => {
  const registry = make(ctx, new FakeJournal());
  const created = await registry.create({ kind: 'user', id: 'u1' }, { type: 'CreateUser', name: 'ada', points: 10 });
  assert.equal(created, { ok: true, value: { id: 'u1', name: 'ada', points: 10 } });
  const charged = await registry.ask({ kind: 'user', id: 'u1' }, { type: 'ChargePoints', ref: 'c1', amount: 5, keyed: true });
  assert.is(charged.ok && charged.value.points, 15);
  const read = await registry.read({ kind: 'user', id: 'u1' });
  assert.is(read.ok && read.value.points, 15);
});

it('keeps live actors within the cap by passivating idle ones; a passivated actor comes back from the journal', async (ctx) => {
  const journal = new FakeJournal();
  const registry = make(ctx, journal);
  for (let i = 0; i < 6; i++) await registry.create({ kind: 'product', id: `p${i}` }, { type: 'CreateProduct', name: `p${i}`, price: 1, stock: i });
  assert.ok(registry.liveActors().length <= 3, `${registry.liveActors().length} live`);
  const back = await registry.read({ kind: 'product', id: 'p0' });
  assert.is(back.ok && back.value.stock, 0);
  assert.ok(registry.passivate({ kind: 'product', id: 'p0' }));
  assert.not.ok(registry.passivate({ kind: 'product', id: 'p0' }), 'not live any more');
});

it('a caller whose actor does not answer in time gets TIMEOUT; a busy actor is not passivated', async (ctx) => {
  const journal = new FakeJournal(false);
  const registry = make(ctx, journal, { askTimeoutMs: 300 });
  const asked = registry.create({ kind: 'product', id: 'slow' }, { type: 'CreateProduct', name: 's', price: 1, stock: 1 });
  await until(() => journal.held.length === 1, 'the append is held');
  assert.not.ok(registry.passivate({ kind: 'product', id: 'slow' }), 'an actor with an uncommitted append stays');
  // The registry's own timer is unref'd; the test's polling keeps the process alive meanwhile.
  let answer: Awaited<typeof asked> | undefined;
  void asked.then((a) => (answer = a));
  await until(() => answer !== undefined, 'the caller is answered');
  assert.is(answer && !answer.ok && answer.error, 'TIMEOUT');
  journal.commitAll();
});

it('a full mailbox refuses requests from outside at once', async (ctx) => {
  const journal = new FakeJournal();
  const registry = make(ctx, journal, { mailboxMax: 2, askTimeoutMs: 60_000 });
  assert.ok((await registry.create({ kind: 'product', id: 'hot' }, { type: 'CreateProduct', name: 'h', price: 1, stock: 100 })).ok);
  journal.autoCommit = false;
  // Three asks queue behind each other in one turn of the event loop; the third finds two waiting.
  const asks = [1, 2, 3].map((i) => registry.ask({ kind: 'product', id: 'hot' }, { type: 'Restock', ref: `r${i}`, quantity: 1, keyed: true }));
  const third = await asks[2]!;
  assert.is(!third.ok && third.error, 'MAILBOX_FULL');
  journal.autoCommit = true;
  journal.commitAll();
  const [first, second] = await Promise.all(asks.slice(0, 2));
  assert.ok(first!.ok && second!.ok);
});

it('an actor hosted elsewhere is reached through the transport, as plain data, and its answer comes back through deliver', async (ctx) => {
  const sent: Array<{ to: Address; envelope: Envelope }> = [];
  const registry = make(ctx, new FakeJournal(), {
    remote: {
      node: 'here',
      hosts: (to) => to.kind !== 'order',
      transport: { post: (to, envelope) => sent.push(JSON.parse(JSON.stringify({ to, envelope }))), reply: () => assert.unreachable('no caller waits elsewhere') },
    },
  });
  const asked = registry.ask({ kind: 'order', id: 'o1' }, { type: 'PayOrder' });
  assert.is(sent.length, 1);
  const [{ to, envelope }] = sent as [{ to: Address; envelope: Envelope }];
  assert.equal(to, { kind: 'order', id: 'o1' });
  assert.is(envelope.type, 'command');
  assert.equal(envelope.type === 'command' && envelope.command, { type: 'PayOrder' }, 'the command survives JSON');
  // The far side answers: the same correlation id, the answer as data.
  const replyTo = envelope.type === 'command' ? envelope.replyTo : undefined;
  registry.deliver(replyTo, { ok: false, error: 'NOT_FOUND', message: 'order o1 not found' });
  assert.equal(await asked, { ok: false, error: 'NOT_FOUND', message: 'order o1 not found' });
  assert.is(registry.liveActors().length, 0, 'nothing was activated here');
  // An actor hosted here is still activated here.
  assert.ok((await registry.create({ kind: 'user', id: 'u1' }, { type: 'CreateUser', name: 'ada', points: 0 })).ok);
  assert.is(registry.liveActors().length, 1);
});

it('when the process hosting an actor is gone, its callers and the saga steps sent there are answered at once, not at the time-out', async (ctx) => {
  const sent: Address[] = [];
  const registry = make(ctx, new FakeJournal(), {
    askTimeoutMs: 60_000,
    remote: { node: 'here', hosts: (to) => to.kind !== 'product', transport: { post: (to) => sent.push(to), reply: () => undefined } },
  });
  const read = registry.read({ kind: 'product', id: 'p1' });
  assert.ok((await registry.create({ kind: 'user', id: 'u1' }, { type: 'CreateUser', name: 'ada', points: 100 })).ok);
  assert.ok((await registry.create({ kind: 'order', id: 'o1' }, { type: 'CreateOrder', userId: 'u1', items: [{ productId: 'p2', quantity: 1, unitPrice: 10 }], ttlMs: 60_000 })).ok);
  const paying = registry.ask({ kind: 'order', id: 'o1' }, { type: 'PayOrder' });
  await until(() => sent.some((to) => to.id === 'p2'), 'the reservation went to the other process');
  const started = Date.now();
  registry.giveUp((to) => to.kind === 'product');
  const answer = await read;
  assert.is(answer.ok ? 'ok' : answer.error, 'TIMEOUT');
  const paid = await paying;
  assert.not.ok(paid.ok && paid.value.status === 'PAID', JSON.stringify(paid));
  assert.ok(Date.now() - started < 30_000, 'answered long before the 60 s time-out');
  const user = await registry.read({ kind: 'user', id: 'u1' });
  assert.is(user.ok && user.value.points, 100, 'no points taken');
});

it.run();
