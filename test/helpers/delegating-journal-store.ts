// A journal store that passes every call on to another: tests extend it to hold, count or fail calls on the way.

import type { OutboxTable } from '../../src/db/schema.js';
import type { AppendEntry, Latest, StoredEvent } from '../../src/journal/journal.js';
import type { Fence } from '../../src/journal/shard-fence.js';
import type { JournalStore } from '../../src/journal/journal-store.js';

/**
 * ```ts
 * class FailingStore extends DelegatingJournalStore {
 *   override async writeBatch() { throw new Error('injected'); }
 * }
 * const t = await startAppWith(url, {}, (database) => new FailingStore(new SqlJournalStore(database)));
 * ```
 */
export class DelegatingJournalStore implements JournalStore {
  constructor(protected readonly inner: JournalStore) {}

  get commitsInOrder(): boolean {
    return this.inner.commitsInOrder;
  }

  writeBatch(entries: readonly AppendEntry[], outbox?: readonly OutboxTable[], inOrder?: { chain: number }, fences?: readonly Fence[]): Promise<void> {
    return this.inner.writeBatch(entries, outbox, inOrder, fences);
  }

  loadLatest(key: string, limit: number): Promise<Latest> {
    return this.inner.loadLatest(key, limit);
  }

  readEvents(key: string, afterSequenceNr: number, limit: number): Promise<StoredEvent[]> {
    return this.inner.readEvents(key, afterSequenceNr, limit);
  }

  refTypes(key: string, ref: string): Promise<string[]> {
    return this.inner.refTypes(key, ref);
  }
}
