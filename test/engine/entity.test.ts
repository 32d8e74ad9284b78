// The generic runtime on its own: a fake journal and a recording postman, no nact, no database.

import * as assert from 'uvu/assert';
import { productModule } from '../../actors/product/index.js';
import type { Address } from '../../actors/shared/entity.js';
import type { Result } from '../../actors/shared/result.js';
import { Entity, type Hosted } from '../../src/engine/entity.js';
import type { Envelope, Postman, ReplyTo } from '../../src/engine/envelope.js';
import type { Dependency } from '../../src/journal/dependency.js';
import { productRow } from '../../src/read/projections.js';
import { FakeJournal } from '../helpers/fake-journal.js';
import { suite } from '../helpers/suite.js';

class RecordingPostman implements Postman {
  readonly posted: Array<{ to: Address; envelope: Envelope }> = [];
  readonly answers = new Map<number, Result<unknown>>();
  takes = 0;
  taken(): void {
    this.takes++;
  }
  post(to: Address, envelope: Envelope): void {
    this.posted.push({ to, envelope });
  }
  deliver(replyTo: ReplyTo | undefined, result: Result<unknown>, _after?: Dependency): void {
    if (replyTo && 'correlationId' in replyTo) this.answers.set(replyTo.correlationId, result);
  }
}

const hosted: Hosted = { module: productModule, project: productRow };
const options = { snapshotEvery: 3, windowSize: 100, replayPageSize: 2 };
const address: Address = { kind: 'product', id: 'p1' };

function entity(journal = new FakeJournal(), postman = new RecordingPostman()) {
  const e = new Entity(address, hosted, journal, postman, options);
  let next = 1;
  /** Queues a command and runs the actor's turn; answers the correlation id its answer will carry. */
  const command = async (command: unknown): Promise<number> => {
    const correlationId = next++;
    e.enqueue({ type: 'command', command, mode: 'commit', replyTo: { correlationId } });
    await e.turn(100);
    return correlationId;
  };
  const read = async (): Promise<number> => {
    const correlationId = next++;
    e.enqueue({ type: 'read', replyTo: { correlationId } });
    await e.turn(100);
    return correlationId;
  };
  return { e, journal, postman, command, read };
}

const settle = () => new Promise((r) => setImmediate(r));

const it = suite('Entity');

it('answers a command only once its events commit, and reads show committed state meanwhile', async () => {
  const { journal, postman, command, read } = entity(new FakeJournal(false));
  const created = await command({ type: 'CreateProduct', name: 'p', price: 5, stock: 10 });
  assert.not.ok(postman.answers.has(created), 'no answer before the commit');
  assert.is(journal.held.length, 1);
  journal.commitAll();
  await settle();
  assert.equal(postman.answers.get(created), { ok: true, value: { id: 'p1', name: 'p', price: 5, stock: 10 } });

  const restock = await command({ type: 'Restock', ref: 'r1', quantity: 5, keyed: true });
  const during = await read();
  assert.equal((postman.answers.get(during) as { value: { stock: number } }).value.stock, 10, 'a read sees the committed stock, not the pending one');
  journal.commitAll();
  await settle();
  assert.equal((postman.answers.get(restock) as { value: { stock: number } }).value.stock, 15);
  assert.is(postman.takes, 3, 'each envelope taken from the inbox is told to the postman');
});

it('a failed commit answers DATABASE_UNAVAILABLE and the actor comes back from the journal as it was', async () => {
  const journal = new FakeJournal(false);
  const { e, postman, command, read } = entity(journal);
  await command({ type: 'CreateProduct', name: 'p', price: 5, stock: 10 });
  journal.commitAll();
  await settle();
  const restock = await command({ type: 'Restock', ref: 'r1', quantity: 5, keyed: true });
  journal.failAll();
  await settle();
  assert.equal(postman.answers.get(restock), { ok: false, error: 'DATABASE_UNAVAILABLE', message: 'the database could not commit; try again' });
  journal.autoCommit = true;
  const after = await read();
  await settle();
  assert.equal((postman.answers.get(after) as { value: { stock: number } }).value.stock, 10);
  assert.is(e.sequence, 1, 'the failed event is gone from the sequence');
});

it('a retried command id is applied once, also after recovery from a snapshot that the id is older than (the journal tells)', async () => {
  const journal = new FakeJournal();
  const first = entity(journal);
  await first.command({ type: 'CreateProduct', name: 'p', price: 5, stock: 10 });
  for (let i = 0; i < 4; i++) await first.command({ type: 'Restock', ref: `r${i}`, quantity: 1, keyed: true });
  await settle();
  assert.ok(journal.snapshots.has('product-p1'), 'a snapshot every 3 events');

  // A new life of the same actor reads the snapshot and the events after it.
  const second = entity(journal);
  const again = await second.command({ type: 'Restock', ref: 'r0', quantity: 1, keyed: true });
  await settle();
  assert.equal((second.postman.answers.get(again) as { value: { stock: number } }).value.stock, 14, 'r0 is not applied twice');
  assert.is(second.e.sequence, 5);
});

it('an unknown actor answers NOT_FOUND to a read and stays empty', async () => {
  const { e, postman, read } = entity();
  const r = await read();
  await settle();
  assert.is((postman.answers.get(r) as { error: string }).error, 'NOT_FOUND');
  assert.is(e.sequence, 0);
  assert.ok(e.idle);
});

it.run();
