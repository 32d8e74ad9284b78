// The registry on its own, over a fake journal: activation, the live-actor cap, time-outs, a full mailbox, the turn limit of actors run in one callback, the transport seam and the trace context it carries.

import * as assert from 'uvu/assert';
import type { ActorKind, Address, EntityModule } from '../../actors/shared/entity.js';
import type { Hosted } from '../../src/engine/entity.js';
import type { Envelope } from '../../src/engine/envelope.js';
import { hostedKinds } from '../../src/engine/kinds.js';
import { startSystem, type ActorSystem } from '../../src/engine/nact.js';
import { Registry, type RegistryOptions } from '../../src/engine/registry.js';
import { FakeJournal } from '../helpers/fake-journal.js';
import { RecordingSpans, traceparent } from '../helpers/recording-spans.js';
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

it('passivates actors idle for longer than the idle time, not those used since; a passivated one comes back', async (ctx) => {
  const registry = make(ctx, new FakeJournal(), { maxLive: 100, idleMs: 400 });
  assert.ok((await registry.create({ kind: 'user', id: 'old' }, { type: 'CreateUser', name: 'old', points: 1 })).ok);
  await new Promise((resolve) => setTimeout(resolve, 450));
  assert.ok((await registry.create({ kind: 'user', id: 'new' }, { type: 'CreateUser', name: 'new', points: 1 })).ok);
  assert.is(registry.sweepIdle(), 1);
  assert.equal(registry.liveActors().map((a) => a.id), ['new']);
  // A clock given to the sweep: by then 'new' has been idle for longer than 400 ms too.
  assert.is(registry.sweepIdle(Date.now() + 450), 1);
  assert.equal(registry.liveActors(), []);
  const back = await registry.read({ kind: 'user', id: 'old' });
  assert.is(back.ok && back.value.points, 1);
});

it('an actor sent more than a turn of messages within a turn yields the event loop before handling the rest', async (ctx) => {
  // Two kinds written for this test: a fan that sends 300 steps to one sink in a single decision,
  // and the sink, which logs each. The fan also queues an I/O-like callback as it decides.
  type Command = { readonly type: string; readonly i?: number };
  const log: string[] = [];
  const plain = <C extends Command>(kind: ActorKind, decide: EntityModule<{ id: string }, C, { type: string }, { id: string }, number>['decide']) =>
    ({
      kind,
      initial: (id) => ({ id }),
      decide,
      evolve: (state) => state,
      isDurable: () => false,
      refOf: () => undefined,
      exists: () => true,
      view: (state) => state,
      snapshot: (state) => state,
      replied: (step) => ({ type: 'Replied', i: step }) as C,
    }) satisfies EntityModule<{ id: string }, C, { type: string }, { id: string }, number>;
  const sink = plain<Command>('user', (_state, command) => {
    if (command.type === 'Tick') log.push(`tick ${command.i}`);
    return { events: [], reply: 'view' };
  });
  const fan = plain<Command>('coupon', (_state, command) => {
    if (command.type !== 'Fan') return { events: [], reply: 'view' };
    setImmediate(() => log.push('io'));
    const effects = Array.from({ length: 300 }, (_, i) => ({ to: { kind: 'user' as const, id: 'sink' }, command: { type: 'Tick', i }, step: i }));
    return { events: [], reply: 'view', effects };
  });
  const hosted = { ...hostedKinds, user: { module: sink, project: () => undefined }, coupon: { module: fan, project: () => undefined } } as unknown as Record<ActorKind, Hosted>;
  const registry = new Registry(ctx.system, hosted, new FakeJournal(), { ...base, maxLive: 10 });
  ctx.registries.push(registry);
  // Both start empty (no journal read), so every turn below is handled at once.
  await registry.create({ kind: 'user', id: 'sink' }, { type: 'Start' } as never);
  await registry.create({ kind: 'coupon', id: 'fan' }, { type: 'Start' } as never);
  assert.ok((await registry.ask({ kind: 'coupon', id: 'fan' }, { type: 'Fan' } as never)).ok);
  await until(() => log.length === 301, 'every step handled and the callback run');
  const ticks = Array.from({ length: 300 }, (_, i) => `tick ${i}`);
  // A turn's worth (256) right after the fan's turn, then the event loop, then the rest.
  assert.equal(log, [...ticks.slice(0, 256), 'io', ...ticks.slice(256)]);
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

/**
 * A pay whose order and user live here and whose product lives elsewhere: the reservation is
 * what crosses, as JSON, with the pay's append.
 */
const payAcross = async (ctx: { system: ActorSystem; registries: Registry[] }, options: Partial<RegistryOptions> = {}) => {
  const sent: string[] = [];
  const journal = new FakeJournal(false);
  const registry = make(ctx, journal, {
    ...options,
    remote: { node: 'here', hosts: (to) => to.kind !== 'product', transport: { post: (to, envelope) => sent.push(JSON.stringify({ to, envelope })), reply: () => undefined } },
  });
  const committing = setInterval(() => journal.commitAll(), 5);
  try {
    assert.ok((await registry.create({ kind: 'user', id: 'u1' }, { type: 'CreateUser', name: 'ada', points: 100 })).ok);
    assert.ok((await registry.create({ kind: 'order', id: 'o1' }, { type: 'CreateOrder', userId: 'u1', items: [{ productId: 'p1', quantity: 1, unitPrice: 10 }], ttlMs: 60_000 })).ok);
  } finally {
    clearInterval(committing);
  }
  void registry.ask({ kind: 'order', id: 'o1' }, { type: 'PayOrder' });
  await until(() => journal.held.length === 1, 'the pay is appended');
  const appended = journal.held[0]!.entry;
  // A step leaves for another process once what it rests on has committed.
  journal.commitAll();
  await until(() => sent.length === 1, 'the reservation is sent');
  const { to, envelope } = JSON.parse(sent[0]!) as { to: Address; envelope: Envelope & { trace?: string } };
  return { to, envelope, appended };
};

it('with tracing off an envelope carries no trace context, on the wire or in the journal', async (ctx) => {
  const { envelope, appended } = await payAcross(ctx);
  assert.is(envelope.type, 'command');
  assert.not.ok('trace' in envelope, JSON.stringify(envelope));
  assert.is(appended.key, 'order-o1');
  assert.is(appended.trace, undefined);
});

it('with tracing on but outside any trace, nothing is traced either', async (ctx) => {
  const spans = new RecordingSpans('a');
  const { envelope, appended } = await payAcross(ctx, { spans });
  assert.not.ok('trace' in envelope, JSON.stringify(envelope));
  assert.is(appended.trace, undefined);
  assert.is(spans.handled.length, 0);
});

it("with tracing on, a command carries its caller's span and each step the span of the command that sent it", async (ctx) => {
  const spans = new RecordingSpans('a');
  spans.active = traceparent('1'.repeat(32), 'f00d');
  const { to, envelope, appended } = await payAcross(ctx, { spans });
  const pay = spans.handled.find((h) => h.command === 'PayOrder');
  assert.ok(pay, JSON.stringify(spans.handled));
  assert.equal(pay!.actor, { kind: 'order', id: 'o1' });
  assert.is(pay!.parent, spans.active, "PayOrder's span is the caller's child");
  assert.equal(to, { kind: 'product', id: 'p1' });
  assert.is(envelope.trace, pay!.traceparent, "the reservation leaves with PayOrder's span as its parent");
  assert.is(appended.key, 'order-o1');
  assert.is(appended.trace, pay!.traceparent, "the pay's append carries PayOrder's span, for its commit and outbox spans");
});

it.run();
