// The journal's contract: append events (resolved when their batch commits) and read them back.

import type { Dependency } from './dependency.js';
import type { TraceParent } from '../tracing/spans.js';
import type { CouponsTable, OrderItemsTable, OrdersTable, ProductsTable, UserCouponsTable, UsersTable } from '../db/schema.js';

/** One actor's row in the read model, as it stands after the appended events. */
export type ReadModelRow =
  | {
      readonly table: 'users';
      readonly row: UsersTable;
      /** The user's coupon claims these events changed: written as upserts. */
      readonly coupons?: readonly UserCouponsTable[];
    }
  | { readonly table: 'coupons'; readonly row: CouponsTable }
  | { readonly table: 'products'; readonly row: ProductsTable }
  | { readonly table: 'orders'; readonly row: OrdersTable; readonly items: readonly OrderItemsTable[] };

export interface StoredEvent {
  readonly sequenceNr: number;
  readonly type: string;
  readonly ref: string | null;
  readonly payload: string;
  readonly at: number;
}

/** Units a commit adds to (paid) or takes from (paid, then cancelled) a product's day. */
export interface SalesDelta {
  readonly productId: string;
  readonly day: number;
  readonly units: number;
}

/**
 * An event that leaves the engine through the outbox, as published: `payload` is the JSON body
 * sinks send, built when the event is appended so that what goes out is what was committed.
 */
export interface OutboxMessage {
  /** Stable and unique: `<persistence key>:<sequence number>`; the broker's and receiver's dedupe key. */
  readonly id: string;
  readonly type: string;
  /** The order the event concerns: delivery keeps the events of one order in commit order. */
  readonly orderId: string;
  readonly payload: string;
  readonly at: number;
}

/** Everything one actor hands over for one command: committed together or not at all. */
export interface AppendEntry {
  readonly key: string;
  /** Appends of other actors (or earlier ones of this actor) these events were decided on. */
  readonly after?: Dependency;
  readonly events: readonly StoredEvent[];
  readonly snapshot?: { readonly sequenceNr: number; readonly state: string };
  readonly row?: ReadModelRow;
  readonly sales?: readonly SalesDelta[];
  /** Events to publish once committed; the journal writes them as outbox rows in the same transaction. */
  readonly outbox?: readonly OutboxMessage[];
  /** The events start the actor's life (sequence 1): its read-model row is inserted, not updated. */
  readonly creates: boolean;
  /** The span of the command that made the events (tracing on): the batch's commit span and the outbox rows' publish spans go under it. */
  readonly trace?: TraceParent;
}

export interface Snapshot {
  readonly sequenceNr: number;
  readonly state: string;
}

/** What an actor's activation reads first: its latest snapshot, if any, and the first events after it. */
export interface Latest {
  readonly snapshot: Snapshot | undefined;
  /** In sequence order; as many as asked for when there may be more (read on with `readEvents`). */
  readonly events: StoredEvent[];
}

/** Thrown into every waiting append when a batch could not be committed. */
export class JournalUnavailableError extends Error {
  override readonly name = 'JournalUnavailableError';
}

/**
 * Hears how one append ended. An object rather than a promise: appends are the hot path (several
 * per payment), and a promise costs its own allocation, two resolving functions and a job per
 * reaction. Never called from within `append` itself.
 */
export interface AppendListener {
  /** The batch holding the append committed. */
  committed(): void;
  /** The batch failed, or the append rested on one that had. */
  failed(error: Error): void;
}

export interface Journal {
  /**
   * Queues the entry; `listener` hears when the batch holding it commits or fails. Fails
   * (soon, not within this call) when part of `entry.after` has failed.
   */
  append(entry: AppendEntry, listener: AppendListener): void;
  /** The position of the latest append. */
  readonly lastPosition: number;
  /**
   * What of a dependency is not committed yet: undefined when all of it is, the part still
   * queued or in flight, or 'failed' when some of it (conservatively: some position within
   * the range) failed.
   */
  outstanding(dependency: Dependency): Dependency | undefined | 'failed';
  /** True once every append of the dependency has committed; false as soon as one has failed. */
  whenResolved(dependency: Dependency): Promise<boolean>;
  /** False when the queue is full: callers refuse new work instead of queueing without end. */
  hasCapacity(): boolean;
  /** The actor's latest snapshot and up to `limit` of its events after it, in one read. */
  loadLatest(key: string, limit: number): Promise<Latest>;
  /** Up to `limit` of the actor's events after `afterSequenceNr`, in sequence order. */
  readEvents(key: string, afterSequenceNr: number, limit: number): Promise<StoredEvent[]>;
  /** The event types recorded for a command id of one actor, oldest first. */
  refTypes(key: string, ref: string): Promise<string[]>;
  /** Resolves when every queued entry has been committed or failed. */
  untilIdle(): Promise<void>;
}

/** `journal.append` as a promise, for the paths that are not hot (an explicit snapshot, tests). */
export function appended(journal: Pick<Journal, 'append'>, entry: AppendEntry): Promise<void> {
  return new Promise((resolve, reject) => journal.append(entry, { committed: resolve, failed: reject }));
}
