// The relay on its own, with a scripted sink: order per order under failures, the memory window, dead letters, the breaker, restarts.

import pino from 'pino';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { connect, type Database } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import type { OutboxTable } from '../../src/db/schema.js';
import { OutboxStore } from '../../src/outbox/outbox-store.js';
import { Relay, type BreakerState, type RelayOptions } from '../../src/outbox/relay.js';
import { SinkUnavailableError, type Sink, type SinkMessage } from '../../src/outbox/sink.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { prng } from '../helpers/prng.js';
import { until } from '../helpers/until.js';

/** ok; fail: the sink refuses this event; unavailable: the sink cannot be reached; a promise: answer when it settles. */
type Answer = 'ok' | 'fail' | 'unavailable' | Promise<void>;

/** A sink that answers as the test scripts it and records every call. */
class ScriptedSink implements Sink {
  readonly name = 'scripted';
  readonly calls: Array<{ id: string; ok: boolean }> = [];
  readonly delivered: string[] = [];
  constructor(public script: (message: SinkMessage, nth: number) => Answer = () => 'ok') {}
  async send(message: SinkMessage, signal: AbortSignal): Promise<void> {
    const answer = this.script(message, this.calls.length);
    const call = { id: message.id, ok: false };
    this.calls.push(call);
    if (answer === 'fail') throw new Error(`refused ${message.id}`);
    if (answer === 'unavailable') throw new SinkUnavailableError('the sink is down');
    if (answer !== 'ok') {
      await new Promise<void>((resolve, reject) => {
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        void answer.then(resolve);
      });
    }
    call.ok = true;
    this.delivered.push(message.id);
  }
  connection(): string {
    return 'scripted';
  }
  async close(): Promise<void> {}
}

const options = (overrides: Partial<RelayOptions> = {}): RelayOptions => ({
  concurrency: 16,
  maxAttempts: 50,
  backoffInitialMs: 1,
  backoffMaxMs: 5,
  breakerFailures: 1_000_000,
  breakerHalfOpenMs: 50,
  window: 10_000,
  pollMs: 20,
  ...overrides,
});

function recorder() {
  const states: BreakerState[] = [];
  let dead = 0;
  return {
    states,
    get dead() {
      return dead;
    },
    observer: { delivered: () => undefined, failedAttempt: () => undefined, breakerChanged: (_: string, s: BreakerState) => states.push(s), deadLettered: (_: string, n: number) => (dead += n) },
  };
}

let nextPosition = 1;
let nextBatch = 1;
/** `orders` orders with `perOrder` events each, interleaved the way concurrent sagas commit them. */
function rows(orders: number, perOrder: number, sink = 'scripted'): OutboxTable[] {
  const batch = nextBatch++;
  const out: OutboxTable[] = [];
  for (let k = 0; k < perOrder; k++) {
    for (let o = 0; o < orders; o++) {
      const position = nextPosition++;
      out.push({
        position,
        sink,
        event_id: `ev-${position}`,
        order_key: `o${batch}-${o}`,
        event_type: 'Noted',
        payload: JSON.stringify({ position }),
        created_at: Date.now(),
        attempts: 0,
        last_error: null,
        shard: 0,
        trace_parent: null,
      });
    }
  }
  return out;
}

/** For each order, the positions of its rows in the order the sink first accepted them. */
function acceptedOrderByKey(sink: ScriptedSink, written: readonly OutboxTable[]): Map<string, number[]> {
  const byId = new Map(written.map((r) => [r.event_id, r]));
  const seen = new Set<string>();
  const out = new Map<string, number[]>();
  for (const id of sink.delivered) {
    if (seen.has(id)) continue;
    seen.add(id);
    const row = byId.get(id);
    if (!row) continue;
    out.set(row.order_key, [...(out.get(row.order_key) ?? []), row.position]);
  }
  return out;
}

/** An outbox store some of whose calls finish only once the test releases them. */
class HeldStore extends OutboxStore {
  private open!: () => void;
  protected readonly released = new Promise<void>((resolve) => (this.open = resolve));
  release(): void {
    this.open();
  }
}

/** Reads of the table (not the looks for given positions) answer only once released, with what the table held when they ran. */
class HeldTableReads extends HeldStore {
  tableReads = 0;
  override async pending(sink: string, afterPosition: number, limit: number, through?: number): Promise<OutboxTable[]> {
    if (through !== undefined) return super.pending(sink, afterPosition, limit, through);
    this.tableReads++;
    const found = await super.pending(sink, afterPosition, limit);
    await this.released;
    return found;
  }
}

/** Deletions of delivered rows finish only once released. */
class HeldDeletions extends HeldStore {
  deletions = 0;
  override async deleteDelivered(positions: readonly number[]): Promise<void> {
    this.deletions++;
    await this.released;
    return super.deleteDelivered(positions);
  }
}

const ascending = (xs: readonly number[]) => xs.every((x, i) => i === 0 || (xs[i - 1] as number) < x);
const quiet = pino({ level: 'silent' });

for (const kind of databaseKinds()) {
  const it = suite<{ tdb: TestDatabase; database: Database; store: OutboxStore }>(`outbox relay on ${kind.name}`, { needs: kind.needs });
  it.before(async (ctx) => {
    ctx.tdb = await kind.create();
    ctx.database = await connect({ url: ctx.tdb.url, dataDir: '', poolSize: 4 });
    await migrateToLatest(ctx.database);
    ctx.store = new OutboxStore(ctx.database);
  });
  it.after(async (ctx) => {
    await ctx.database?.close();
    await ctx.tdb?.drop();
  });
  it.before.each(async ({ database }) => {
    await database.db.deleteFrom('outbox').execute();
    await database.db.deleteFrom('outbox_dead_letters').execute();
  });

  const insert = async (database: Database, written: readonly OutboxTable[]) => {
    for (let i = 0; i < written.length; i += 200) await database.db.insertInto('outbox').values(written.slice(i, i + 200)).execute();
  };
  const waiting = async (database: Database) => Number((await database.db.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst())?.n);

  it('rows of one order go out in commit order while a third of the attempts fail at random', async ({ database, store }) => {
    const random = prng(11);
    const sink = new ScriptedSink(() => (random() < 0.33 ? 'fail' : 'ok'));
    const written = rows(40, 4);
    await insert(database, written);
    const relay = new Relay(sink, store, options(), recorder().observer, quiet);
    relay.start();
    await until(() => new Set(sink.delivered).size === written.length, 'every row delivered');
    await relay.close();
    const byKey = acceptedOrderByKey(sink, written);
    assert.is(byKey.size, 40);
    for (const [key, positions] of byKey) assert.ok(ascending(positions), `${key} delivered as ${positions.join(', ')}`);
    // No later row of an order was even tried before the earlier one had gone through.
    const delivered = new Set<string>();
    const byId = new Map(written.map((r) => [r.event_id, r]));
    for (const call of sink.calls) {
      const row = byId.get(call.id)!;
      const earlier = written.filter((r) => r.order_key === row.order_key && r.position < row.position);
      for (const e of earlier) assert.ok(delivered.has(e.event_id), `${call.id} tried before ${e.event_id} was delivered`);
      if (call.ok) delivered.add(call.id);
    }
    assert.ok(sink.calls.some((c) => !c.ok), 'some attempts failed');
    assert.is(await waiting(database), 0, 'delivered rows are deleted');
  });

  it('memory holds at most the window; what overflows is read back from the table, none lost', async ({ database, store }) => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const sink = new ScriptedSink(() => gate);
    const relay = new Relay(sink, store, options({ window: 100, concurrency: 8 }), recorder().observer, quiet);
    relay.start();
    await until(() => relay.status().live, 'the relay has read the empty table');
    const written = rows(50, 20);
    let most = 0;
    for (let i = 0; i < written.length; i += 50) {
      const batch = written.slice(i, i + 50);
      await insert(database, batch);
      relay.offer(batch);
      most = Math.max(most, relay.status().inMemory);
    }
    assert.ok(most <= 100, `at most the window in memory (${most})`);
    assert.is(relay.status().live, false, 'the rest waits in the table');
    open();
    await until(() => new Set(sink.delivered).size === written.length, 'every row delivered');
    for (const [key, positions] of acceptedOrderByKey(sink, written)) assert.ok(ascending(positions), `${key} in order`);
    await until(() => relay.status().live, 'caught up with the table');
    await relay.close();
    assert.is(await waiting(database), 0);
  });

  it('rows of a batch whose commit timed out and landed late are found and delivered once; the rest are not sent twice', async ({ database, store }) => {
    const sink = new ScriptedSink();
    const relay = new Relay(sink, store, options(), recorder().observer, quiet);
    relay.start();
    await until(() => relay.status().live, 'the relay has read the empty table');
    const late = rows(3, 1);
    const after = rows(3, 1);
    // The batch of `late` failed (a time-out): it was never offered. A later batch commits and is offered.
    relay.lookFor(late.map((r) => r.position));
    await insert(database, after);
    relay.offer(after);
    await until(() => sink.delivered.length === after.length, 'the later batch delivered');
    // Then the timed-out commit lands after all, behind the relay's cursor.
    await insert(database, late);
    await until(() => new Set(sink.delivered).size === late.length + after.length, 'the late rows found and delivered', 30_000);
    await until(async () => (await waiting(database)) === 0, 'delivered rows are deleted');
    await relay.close();
    assert.is(sink.delivered.length, late.length + after.length, 'each row sent once');
  });

  it('rows of a timed-out batch that land late are delivered though nothing committed after them', async ({ database, store }) => {
    const sink = new ScriptedSink();
    const relay = new Relay(sink, store, options(), recorder().observer, quiet);
    relay.start();
    await until(() => relay.status().live, 'the relay has read the empty table');
    const before = rows(2, 1);
    await insert(database, before);
    relay.offer(before);
    await until(() => sink.delivered.length === before.length, 'the earlier batch delivered');
    // The last batch of a sale times out and lands late: its rows lie past everything offered.
    const late = rows(3, 2);
    relay.lookFor(late.map((r) => r.position));
    await insert(database, late);
    await until(() => sink.delivered.length === before.length + late.length, 'the late rows found and delivered', 30_000);
    // What commits next is offered as usual and goes out once.
    const after = rows(2, 1);
    await insert(database, after);
    relay.offer(after);
    await until(() => sink.delivered.length === before.length + late.length + after.length, 'the next batch delivered');
    await until(async () => (await waiting(database)) === 0, 'delivered rows are deleted');
    await relay.close();
    assert.is(new Set(sink.delivered).size, sink.delivered.length, 'each row sent once');
    for (const [key, positions] of acceptedOrderByKey(sink, [...before, ...late, ...after])) assert.ok(ascending(positions), `${key} in order`);
  });

  it('a look for late rows that meets a read of the table under way waits for it; the read began before they landed', async ({ database }) => {
    const store = new HeldTableReads(database);
    const sink = new ScriptedSink();
    const early = rows(2, 1);
    await insert(database, early);
    const relay = new Relay(sink, store, options(), recorder().observer, quiet);
    relay.start();
    await until(() => store.tableReads === 1, 'the start-up read under way');
    // A batch timed out; its rows land now, after the read under way took its look at the table.
    const late = rows(3, 1);
    relay.lookFor(late.map((r) => r.position));
    await insert(database, late);
    // The first look is due after 1 s, while the read is still held: had it run, it would have
    // found the rows ahead of a relay not yet live, left them to the read, and the read misses them.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    store.release();
    await until(() => new Set(sink.delivered).size === early.length + late.length, 'the late rows delivered too', 30_000);
    await until(async () => (await waiting(database)) === 0, 'delivered rows are deleted');
    await relay.close();
    assert.is(sink.delivered.length, early.length + late.length, 'each row sent once');
  });

  it('a look for late rows that meets a deletion under way waits for it: rows delivered meanwhile are not sent again', async ({ database }) => {
    const store = new HeldDeletions(database);
    const sink = new ScriptedSink();
    // The rows of a timed-out batch landed before the relay started: its start-up read delivers them.
    const late = rows(3, 1);
    await insert(database, late);
    const relay = new Relay(sink, store, options(), recorder().observer, quiet);
    relay.lookFor(late.map((r) => r.position));
    relay.start();
    await until(() => sink.delivered.length === late.length && store.deletions === 1, 'delivered, their deletion under way');
    // The first look is due after 1 s, while the deletion is held: the rows are still in the table,
    // and out of the relay's memory; had it run, it would have taken them for undelivered ones.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    store.release();
    await until(async () => (await waiting(database)) === 0, 'delivered rows are deleted');
    // The look waited for the deletion and runs 50 ms after it: give it time to send anything.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await relay.close();
    assert.is(sink.delivered.length, late.length, 'each row sent once');
  });

  it('a row out of attempts becomes a dead letter with its last error, and its order goes on', async ({ database, store }) => {
    const written = rows(3, 3);
    const poison = written[4]!;
    const sink = new ScriptedSink((m) => (m.id === poison.event_id ? 'fail' : 'ok'));
    const record = recorder();
    const relay = new Relay(sink, store, options({ maxAttempts: 3 }), record.observer, quiet);
    await insert(database, written);
    relay.start();
    await until(() => record.dead === 1 && sink.delivered.length === written.length - 1, 'the others delivered');
    await relay.close();
    assert.is(sink.calls.filter((c) => c.id === poison.event_id).length, 3, 'three attempts');
    const [dead, ...more] = await store.deadLetters(0, 10);
    assert.is(more.length, 0);
    assert.is(dead?.event_id, poison.event_id);
    assert.is(dead?.attempts, 3);
    assert.match(dead?.last_error ?? '', `refused ${poison.event_id}`);
    const later = written.filter((r) => r.order_key === poison.order_key && r.position > poison.position);
    assert.ok(later.length > 0);
    for (const r of later) assert.ok(sink.delivered.includes(r.event_id), `${r.event_id} after the dead letter`);
    assert.is(await waiting(database), 0);
  });

  it('an outage opens the circuit, probes do not use up attempts, and it closes again', async ({ database, store }) => {
    let healthy = false;
    const sink = new ScriptedSink(() => (healthy ? 'ok' : 'unavailable'));
    const record = recorder();
    // Two attempts only: an outage longer than that must still not make dead letters.
    const relay = new Relay(sink, store, options({ maxAttempts: 2, breakerFailures: 3, breakerHalfOpenMs: 20, concurrency: 4 }), record.observer, quiet);
    const written = rows(10, 2);
    await insert(database, written);
    relay.start();
    await until(() => record.states.filter((s) => s === 'open').length >= 6, 'the circuit opened and probes failed several times');
    const callsWhileOpen = sink.calls.length;
    healthy = true;
    await until(() => new Set(sink.delivered).size === written.length, 'every row delivered once the sink is back');
    await relay.close();
    assert.is(record.states.at(-1), 'closed');
    assert.is(record.dead, 0, 'no dead letter from an outage');
    // While open, only probes went out: a handful of calls, not one per row per retry.
    assert.ok(callsWhileOpen < 4 + 3 + record.states.length, `${callsWhileOpen} calls during the outage`);
    assert.is((await store.deadLetters(0, 10)).length, 0);
  });

  it('a row the sink keeps refusing ends as a dead letter even when it is all that is left and the circuit is open', async ({ database, store }) => {
    const written = rows(1, 1);
    const sink = new ScriptedSink(() => 'fail');
    const record = recorder();
    const relay = new Relay(sink, store, options({ maxAttempts: 6, breakerFailures: 2, breakerHalfOpenMs: 10 }), record.observer, quiet);
    await insert(database, written);
    relay.start();
    await until(() => record.dead === 1, 'the refused row is a dead letter');
    await relay.close();
    assert.ok(record.states.includes('open'), 'the circuit opened on the way');
    assert.is(sink.calls.length, 6, 'probes the sink refused counted as attempts');
    assert.is((await store.deadLetters(0, 10))[0]?.attempts, 6);
  });

  it('a restart resumes from the table, with the attempts already made', async ({ database, store }) => {
    const written = rows(5, 2);
    await insert(database, written);
    const failing = new ScriptedSink(() => 'fail');
    const first = new Relay(failing, store, options({ maxAttempts: 50, backoffInitialMs: 1, backoffMaxMs: 2 }), recorder().observer, quiet);
    first.start();
    await until(() => failing.calls.length >= 20, 'some attempts failed');
    await first.close();
    const left = await store.pending('scripted', 0, 100);
    assert.is(left.length, written.length, 'nothing was lost');
    assert.ok(left.some((r) => r.attempts > 0 && r.last_error?.includes('refused')), 'attempts and the last error were written down');
    const healthy = new ScriptedSink();
    const second = new Relay(healthy, store, options(), recorder().observer, quiet);
    second.start();
    await until(() => new Set(healthy.delivered).size === written.length, 'the second life delivers everything');
    await second.close();
    for (const [key, positions] of acceptedOrderByKey(healthy, written)) assert.ok(ascending(positions), `${key} in order`);
    assert.is(await waiting(database), 0);
  });

  it.run();
}
