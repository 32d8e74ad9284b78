// Group commit: appends from every actor gather while one batch commits, then go in the next one.

import type { OutboxTable } from '../db/schema.js';
import type { AppendEntry, Journal, Snapshot, StoredEvent } from './journal.js';
import { JournalUnavailableError } from './journal.js';
import type { SqlJournalStore } from './sql-store.js';

export interface BatchObserver {
  batchCommitted(entries: number, events: number, seconds: number): void;
  batchFailed(entries: number, error: unknown): void;
}

/**
 * Where the outbox messages of a batch go: `rows` turns them into the outbox rows written in the
 * batch's transaction, `committed` hears of them once it has committed (the relay's fast path).
 */
export interface OutboxHandoff {
  rows(entries: readonly AppendEntry[]): OutboxTable[];
  committed(entries: readonly AppendEntry[], rows: readonly OutboxTable[]): void;
}

export interface BatchWriterOptions {
  readonly maxBatchEvents: number;
  readonly maxQueuedEvents: number;
  readonly observer?: BatchObserver;
  readonly outbox?: OutboxHandoff;
}

interface Pending {
  readonly entry: AppendEntry;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * The journal over SQL with one batch in flight: a batch flushes as soon as the writer is
 * free, so batches commit in append order and a failed one fails everything queued behind it.
 *
 * ```ts
 * const journal = new BatchWriter(new SqlJournalStore(db), { maxBatchEvents: 2000, maxQueuedEvents: 100_000 });
 * await journal.append({ key: 'product-1', events, creates: false });
 * ```
 */
export class BatchWriter implements Journal {
  private queue: Pending[] = [];
  private queuedEvents = 0;
  private inFlight = false;
  private scheduled = false;
  private drainWaiters: Array<() => void> = [];

  constructor(
    private readonly store: SqlJournalStore,
    private readonly options: BatchWriterOptions,
  ) {}

  append(entry: AppendEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      this.queuedEvents += entry.events.length;
      this.schedule();
    });
  }

  hasCapacity(): boolean {
    return this.queuedEvents < this.options.maxQueuedEvents;
  }

  /** Events waiting for a batch, for metrics and the admin view. */
  get backlog(): number {
    return this.queuedEvents;
  }

  loadSnapshot(key: string): Promise<Snapshot | undefined> {
    return this.store.loadSnapshot(key);
  }

  readEvents(key: string, afterSequenceNr: number, limit: number): Promise<StoredEvent[]> {
    return this.store.readEvents(key, afterSequenceNr, limit);
  }

  refTypes(key: string, ref: string): Promise<string[]> {
    return this.store.refTypes(key, ref);
  }

  drain(): Promise<void> {
    if (!this.inFlight && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.inFlight || this.scheduled) return;
    this.scheduled = true;
    // Yield once so that appends made in the same turn of the event loop share the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
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
    if (this.inFlight || this.queue.length === 0) return this.notifyDrained();
    this.inFlight = true;
    const batch = this.takeBatch();
    const entries = batch.map((p) => p.entry);
    const started = performance.now();
    try {
      const outbox = this.options.outbox?.rows(entries) ?? [];
      await this.store.writeBatch(entries, outbox);
      const events = batch.reduce((n, p) => n + p.entry.events.length, 0);
      this.options.observer?.batchCommitted(batch.length, events, (performance.now() - started) / 1000);
      for (const p of batch) p.resolve();
      this.handOver(entries, outbox);
    } catch (cause) {
      // Everything queued behind may depend on what failed (an actor's next sequence number,
      // a saga's earlier step), so it fails too; the touched actors rebuild from the journal.
      const rest = this.queue.splice(0);
      this.queuedEvents = 0;
      this.options.observer?.batchFailed(batch.length + rest.length, cause);
      const error = new JournalUnavailableError(`journal commit failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
      for (const p of [...batch, ...rest]) p.reject(error);
    } finally {
      this.inFlight = false;
    }
    if (this.queue.length > 0) this.schedule();
    else this.notifyDrained();
  }

  /** The rows are committed whatever the relay makes of them: it reads the table again if this fails. */
  private handOver(entries: readonly AppendEntry[], rows: readonly OutboxTable[]): void {
    try {
      this.options.outbox?.committed(entries, rows);
    } catch {
      // The relay's backstop is the table itself.
    }
  }

  private notifyDrained(): void {
    if (this.inFlight || this.queue.length > 0) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
