// The journal's seam to storage: what the batch writer asks of the database, one batch or one actor at a time.

import type { OutboxTable } from '../db/schema.js';
import type { AppendEntry, Latest, StoredEvent } from './journal.js';
import type { Fence } from './shard-fence.js';

/**
 * Where the journal keeps events, snapshots, read-model rows and outbox rows. `SqlJournalStore`
 * is the one the engine runs on; tests stand in for it to hold or fail commits.
 *
 * ```ts
 * const journal = new BatchWriter(store, { maxBatchEvents: 2000, maxQueuedEvents: 100_000 });
 * ```
 */
export interface JournalStore {
  /** Whether batches may be written before earlier ones have committed (see `writeBatch`). */
  readonly commitsInOrder: boolean;
  /**
   * One transaction: the batch's events, the latest snapshot per actor, the read-model rows and
   * the outbox rows. `inOrder` (where `commitsInOrder`): it commits after, and only if, every
   * batch written before it in the same chain that is still on its way. `fences` (cluster mode):
   * the shards it writes and the epochs its writer holds them at; it fails whole if another
   * writer has raised one of them since.
   */
  writeBatch(entries: readonly AppendEntry[], outbox?: readonly OutboxTable[], inOrder?: { chain: number }, fences?: readonly Fence[]): Promise<void>;
  /**
   * The actor's latest snapshot, if it has one, and up to `limit` of its events after it (from
   * the first when it has none), as one consistent read: an activation's one round trip.
   */
  loadLatest(key: string, limit: number): Promise<Latest>;
  /** Up to `limit` of the actor's events after `afterSequenceNr`, in sequence order. */
  readEvents(key: string, afterSequenceNr: number, limit: number): Promise<StoredEvent[]>;
  /** The event types recorded for a command id of one actor, oldest first. */
  refTypes(key: string, ref: string): Promise<string[]>;
}
