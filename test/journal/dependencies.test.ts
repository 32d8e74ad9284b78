// The writer's dependency bookkeeping: which appended positions committed, are still queued, or failed.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { BatchWriter } from '../../src/journal/batch-writer.js';
import { appended, type AppendEntry, type Latest } from '../../src/journal/journal.js';
import type { JournalStore } from '../../src/journal/journal-store.js';

/** A store that keeps nothing: each batch waits for `release`, then commits, or fails while `failing` is set. */
class GateStore implements JournalStore {
  readonly commitsInOrder = false;
  failing = false;
  private gate: (() => void) | undefined;
  async writeBatch(_entries: readonly AppendEntry[]): Promise<void> {
    await new Promise<void>((resolve) => (this.gate = resolve));
    if (this.failing) throw new Error('down');
  }
  async loadLatest(): Promise<Latest> {
    return { snapshot: undefined, events: [] };
  }
  async readEvents(): Promise<[]> {
    return [];
  }
  async refTypes(): Promise<[]> {
    return [];
  }
  release(): void {
    this.gate?.();
    this.gate = undefined;
  }
}

const entry = (key: string, after?: { from: number; to: number }): AppendEntry => ({
  key,
  events: [{ sequenceNr: 1, type: 'Noted', ref: null, payload: '{}', at: 0 }],
  creates: false,
  ...(after ? { after } : {}),
});
const tick = () => new Promise((r) => setImmediate(r));

const it = suite('journal dependencies');

it('queued, committed, failed: and appends made after a failure that depend on it are refused', async () => {
  const store = new GateStore();
  const journal = new BatchWriter(store, { maxBatchEvents: 100, maxQueuedEvents: 1000 });
  const a = appended(journal, entry('a'));
  const pa = journal.lastPosition;
  assert.equal(journal.outstanding({ from: pa, to: pa }), { from: pa, to: pa });
  await tick();
  store.release();
  await a;
  assert.is(journal.outstanding({ from: pa, to: pa }), undefined);

  store.failing = true;
  const b = appended(journal, entry('b')).catch((e: Error) => e);
  const pb = journal.lastPosition;
  await tick();
  store.release();
  assert.instance(await b, Error);
  assert.is(journal.outstanding({ from: pb, to: pb }), 'failed');
  assert.is(journal.outstanding({ from: pa, to: pb }), 'failed', 'a range holding a failed position has failed');
  assert.is(journal.outstanding({ from: pa, to: pa }), undefined, 'what committed before stays committed');

  // The database is back: an append resting on the failed one must not commit.
  store.failing = false;
  const refused = await appended(journal, entry('c', { from: pb, to: pb })).catch((e: Error) => e);
  assert.instance(refused, Error);
  const d = appended(journal, entry('d', { from: pa, to: pa }));
  const pd = journal.lastPosition;
  await tick();
  store.release();
  await d;
  assert.is(journal.outstanding({ from: pd, to: pd }), undefined);
});

it('a range narrows to its part still in flight', async () => {
  const store = new GateStore();
  const journal = new BatchWriter(store, { maxBatchEvents: 1, maxQueuedEvents: 1000 });
  const first = appended(journal, entry('a'));
  const p1 = journal.lastPosition;
  const second = appended(journal, entry('b'));
  const p2 = journal.lastPosition;
  await tick();
  store.release();
  await first;
  assert.equal(journal.outstanding({ from: p1, to: p2 }), { from: p2, to: p2 });
  await tick();
  store.release();
  await second;
  assert.is(journal.outstanding({ from: p1, to: p2 }), undefined);
});

it.run();
