// Group commit: appends from every actor gather while one batch commits, then go in the next one.

import type { OutboxTable } from '../db/schema.js';
import type { Dependency } from './dependency.js';
import type { AppendEntry, AppendListener, Journal, Latest, StoredEvent } from './journal.js';
import type { Fence } from './shard-fence.js';
import { JournalUnavailableError } from './journal.js';
import { withTimeout } from '../db/with-timeout.js';
import type { JournalStore } from './journal-store.js';
import type { Spans } from '../tracing/spans.js';

export interface BatchObserver {
  batchCommitted(entries: number, events: number, seconds: number): void;
  batchFailed(entries: number, error: unknown): void;
}

/**
 * Where the outbox messages of a batch go: `rows` turns them into the outbox rows written in the
 * batch's transaction, `committed` hears of them once it has committed (the relay's fast path),
 * `uncertain` hears of a batch that failed: a time-out leaves its outcome unknown, so its rows
 * may still land in the table.
 */
export interface OutboxHandoff {
  rows(entries: readonly AppendEntry[]): OutboxTable[];
  committed(entries: readonly AppendEntry[], rows: readonly OutboxTable[]): void;
  uncertain(rows: readonly OutboxTable[]): void;
}

/**
 * The cluster's leases as the journal sees them: which shards (at which epochs) a batch writes,
 * and whether they are all still held once it has committed.
 */
export interface BatchFencing {
  fencesFor(entries: readonly AppendEntry[]): readonly Fence[];
  holds(fences: readonly Fence[]): boolean;
}

export interface BatchWriterOptions {
  readonly maxBatchEvents: number;
  readonly maxQueuedEvents: number;
  /**
   * A commit or read that has not finished by then fails, so that a database that stopped
   * answering (a network partition, not a refused connection) costs callers this long at most.
   */
  readonly timeoutMs?: number;
  readonly observer?: BatchObserver;
  readonly outbox?: OutboxHandoff;
  /** Cluster mode: each batch proves its writer's epochs in its transaction (see `fenceStatements`). */
  readonly fencing?: BatchFencing;
  /**
   * How long a batch may wait, once the writer is free, for work still moving through the
   * actors (see `holdBatchesWhile`): a payment whose saga is half done when a batch is cut would wait
   * for the next batch to commit too. 0 cuts at once.
   */
  readonly holdMs?: number;
  /** Batches sent before the first has committed, where the store keeps them in order (PostgreSQL). */
  readonly maxInFlight?: number;
  /** Tracing on: a commit span in the trace of each traced append. */
  readonly spans?: Spans;
}

/** Failure episodes remembered exactly; a dependency older than all of them counts as failed. */
const MAX_FAILED_RANGES = 1024;

interface Pending {
  readonly entry: AppendEntry;
  readonly position: number;
  readonly listener: AppendListener;
}

/**
 * The journal over a store with one batch in flight: a batch flushes as soon as the writer is
 * free, so batches commit in append order and a failed one fails everything queued behind it.
 *
 * ```ts
 * const journal = new BatchWriter(new SqlJournalStore(db), { maxBatchEvents: 2000, maxQueuedEvents: 100_000 });
 * journal.append({ key: 'product-1', events, creates: false }, { committed: () => reply(), failed: () => retry() });
 * ```
 */
export class BatchWriter implements Journal {
  private queue: Pending[] = [];
  private queuedEvents = 0;
  /** Batches sent and not yet committed or failed. */
  private inFlight = 0;
  /** Counts failures: a batch sent before the latest failure cannot be taken as committed. */
  private failures = 0;
  private scheduled = false;
  /** Settles when the last batch sent has been dealt with: outcomes are taken in the order sent. */
  private lastDealtWith: Promise<void> = Promise.resolve();
  private idleWaiters: Array<() => void> = [];
  private resolveWaiters: Array<{ readonly dependency: Dependency; resolve(committed: boolean): void }> = [];
  private position = 0;
  /** Every position up to here has committed or failed. */
  private decidedThrough = 0;
  /** Failed positions as sorted, disjoint [from, to] ranges; only the latest are kept. */
  private readonly failed: Array<[number, number]> = [];
  /** Positions up to here count as failed: their ranges were dropped from `failed`. */
  private forgottenThrough = 0;
  private holding: () => boolean = () => false;

  /** Batches on their way at once: several where the store commits them in order, else one. */
  private readonly maxInFlight: number;

  constructor(
    private readonly store: JournalStore,
    private readonly options: BatchWriterOptions,
  ) {
    this.maxInFlight = store.commitsInOrder ? Math.max(1, options.maxInFlight ?? 1) : 1;
  }

  append(entry: AppendEntry, listener: AppendListener): void {
    const position = ++this.position;
    if (entry.after && this.outstanding(entry.after) === 'failed') {
      this.markFailed(position, position);
      const error = new JournalUnavailableError('an append these events depend on failed to commit');
      queueMicrotask(() => listener.failed(error));
      return;
    }
    this.queue.push({ entry, position, listener });
    this.queuedEvents += entry.events.length;
    this.schedule();
  }

  get lastPosition(): number {
    return this.position;
  }

  outstanding(dependency: Dependency): Dependency | undefined | 'failed' {
    if (dependency.from <= this.forgottenThrough) return 'failed';
    for (let i = this.failed.length - 1; i >= 0; i--) {
      const [from, to] = this.failed[i] as [number, number];
      if (to < dependency.from) break;
      if (from <= dependency.to) return 'failed';
    }
    if (dependency.to <= this.decidedThrough) return undefined;
    if (dependency.from <= this.decidedThrough) return { from: this.decidedThrough + 1, to: dependency.to };
    return dependency;
  }

  whenResolved(dependency: Dependency): Promise<boolean> {
    const now = this.outstanding(dependency);
    if (now === undefined) return Promise.resolve(true);
    if (now === 'failed') return Promise.resolve(false);
    return new Promise((resolve) => this.resolveWaiters.push({ dependency: now, resolve }));
  }

  hasCapacity(): boolean {
    return this.queuedEvents < this.options.maxQueuedEvents;
  }

  /** Events waiting for a batch, for metrics and the admin view. */
  get backlog(): number {
    return this.queuedEvents;
  }

  loadLatest(key: string, limit: number): Promise<Latest> {
    return this.bounded(this.store.loadLatest(key, limit), 'reading a snapshot and events');
  }

  readEvents(key: string, afterSequenceNr: number, limit: number): Promise<StoredEvent[]> {
    return this.bounded(this.store.readEvents(key, afterSequenceNr, limit), 'reading events');
  }

  refTypes(key: string, ref: string): Promise<string[]> {
    return this.bounded(this.store.refTypes(key, ref), 'looking up a command id');
  }

  untilIdle(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * `busy` says whether appends are still on their way (actors have messages to take): the
   * writer then lets the event loop turn, up to `holdMs`, before it cuts the next batch.
   */
  holdBatchesWhile(busy: () => boolean): void {
    this.holding = busy;
  }

  private schedule(): void {
    if (this.inFlight >= this.maxInFlight || this.scheduled) return;
    this.scheduled = true;
    const since = performance.now();
    const holdMs = this.options.holdMs ?? 0;
    // Yield at least once so that appends made in the same turn of the event loop share the
    // batch, and while sagas are still moving, until they rest, the batch is full or time is up.
    const tick = () => {
      if (this.holding() && this.queuedEvents < this.options.maxBatchEvents && performance.now() - since < holdMs) {
        setImmediate(tick);
        return;
      }
      this.scheduled = false;
      void this.flush();
    };
    setImmediate(tick);
  }

  private takeBatch(): Pending[] {
    let events = 0;
    let count = 0;
    for (const p of this.queue) {
      if (count > 0 && events + p.entry.events.length > this.options.maxBatchEvents) break;
      events += p.entry.events.length;
      count++;
    }
    this.queuedEvents -= events;
    return this.queue.splice(0, count);
  }

  private async flush(): Promise<void> {
    if (this.inFlight >= this.maxInFlight || this.queue.length === 0) return this.notifyIdle();
    this.inFlight++;
    const failuresBefore = this.failures;
    const batch = this.takeBatch();
    const entries = batch.map((p) => p.entry);
    const started = performance.now();
    const traced = this.options.spans?.commit(entries);
    // Where the store keeps batches in order, the next one may be cut while this one commits.
    if (this.queue.length > 0) this.schedule();
    let outbox: OutboxTable[] = [];
    // A later batch may fail before an earlier one commits (its own statements failed at
    // once): its outcome waits for the earlier one's, so what failed is always what came after.
    const before = this.lastDealtWith;
    let dealtWith!: () => void;
    this.lastDealtWith = new Promise((resolve) => (dealtWith = resolve));
    try {
      // On time-out the batch counts as failed though it may still commit: its callers get 503
      // (outcome unknown), its actors rebuild from what the journal holds, the (key, sequence)
      // fence refuses whichever of two writes of one actor comes second, and the relays look
      // for its outbox rows in the table for a while.
      outbox = this.options.outbox?.rows(entries) ?? [];
      // After a failure (or time-out) the next batches start a new chain: they need not, and
      // must not, wait behind batches the writer has given up on.
      const inOrder = this.maxInFlight > 1 ? { chain: failuresBefore } : undefined;
      const fences = this.options.fencing?.fencesFor(entries) ?? [];
      const written = await this.bounded(this.store.writeBatch(entries, outbox, inOrder, fences), 'a journal commit').then(
        () => undefined,
        (error: unknown) => ({ error }),
      );
      await before;
      if (written) throw written.error;
      // A lease lost while the batch was on its way: the database took it, but nobody hears of it
      // from here, since another process may already serve these shards.
      if (fences.length > 0 && !this.options.fencing?.holds(fences)) throw new Error('a shard this batch writes changed owner while it committed');
      // A batch sent before a failure that was behind it in order was failed with it (and the
      // store did not commit it, or a time-out left the outcome unknown): it stays failed.
      if (this.failures !== failuresBefore) throw new Error('a batch before this one failed');
      traced?.end();
      const events = batch.reduce((n, p) => n + p.entry.events.length, 0);
      this.options.observer?.batchCommitted(batch.length, events, (performance.now() - started) / 1000);
      this.decidedThrough = Math.max(this.decidedThrough, batch[batch.length - 1]?.position ?? 0);
      for (const p of batch) p.listener.committed();
      this.handOver(entries, outbox);
    } catch (cause) {
      const error = new JournalUnavailableError(`journal commit failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
      traced?.end(error);
      if (this.failures === failuresBefore) {
        // Everything queued or sent behind may depend on what failed (an actor's next sequence
        // number, a saga's earlier step), so it fails too; the touched actors rebuild from the journal.
        this.failures++;
        const rest = this.queue.splice(0);
        this.queuedEvents = 0;
        this.markFailed(this.decidedThrough + 1, this.position);
        this.decidedThrough = this.position;
        this.options.observer?.batchFailed(batch.length + rest.length, cause);
        for (const p of batch) p.listener.failed(error);
        for (const p of rest) p.listener.failed(error);
      } else {
        for (const p of batch) p.listener.failed(error);
      }
      if (outbox.length > 0) this.options.outbox?.uncertain(outbox);
    } finally {
      dealtWith();
      this.inFlight--;
      this.notifyResolved();
    }
    if (this.queue.length > 0) this.schedule();
    else this.notifyIdle();
  }

  /** Answers `whenResolved` callers whose appends are now all committed, or some failed. */
  private notifyResolved(): void {
    if (this.resolveWaiters.length === 0) return;
    const waiting = this.resolveWaiters;
    this.resolveWaiters = [];
    for (const w of waiting) {
      const now = this.outstanding(w.dependency);
      if (now === undefined) w.resolve(true);
      else if (now === 'failed') w.resolve(false);
      else this.resolveWaiters.push(w);
    }
  }

  /** The rows are committed whatever the relay makes of them: it reads the table again if this fails. */
  private handOver(entries: readonly AppendEntry[], rows: readonly OutboxTable[]): void {
    try {
      this.options.outbox?.committed(entries, rows);
    } catch {
      // The relay's backstop is the table itself.
    }
  }

  private bounded<T>(work: Promise<T>, what: string): Promise<T> {
    return this.options.timeoutMs === undefined ? work : withTimeout(work, this.options.timeoutMs, what);
  }

  private markFailed(from: number, to: number): void {
    let last = this.failed[this.failed.length - 1];
    while (last && from <= last[1] + 1) {
      from = Math.min(from, last[0]);
      to = Math.max(to, last[1]);
      this.failed.pop();
      last = this.failed[this.failed.length - 1];
    }
    this.failed.push([from, to]);
    if (this.failed.length > MAX_FAILED_RANGES) this.forgottenThrough = (this.failed.shift() as [number, number])[1];
  }

  private notifyIdle(): void {
    if (this.inFlight > 0 || this.queue.length > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
