// One sink's relay: takes committed outbox rows (from memory, or the table after a restart or an overflow) and delivers them.

import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleAll,
  handleWhen,
  retry,
  type CircuitBreakerPolicy,
  type RetryPolicy,
} from 'cockatiel';
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { OutboxConfig } from '../config.js';
import type { OutboxTable } from '../db/schema.js';
import { Lanes, type Delivery } from './lanes.js';
import type { OutboxStore } from './outbox-store.js';
import { SinkUnavailableError, type Sink, type SinkMessage } from './sink.js';

export type RelayOptions = Pick<OutboxConfig, 'concurrency' | 'maxAttempts' | 'backoffInitialMs' | 'backoffMaxMs' | 'breakerFailures' | 'breakerHalfOpenMs' | 'window' | 'pollMs'>;

/** In a cluster: the shards whose rows this process delivers (the rows of an order go with the order's shard). */
export interface ServedShards {
  served(): readonly number[];
  serves(shard: number): boolean;
}

/** What the relay reports, for metrics. */
export interface RelayObserver {
  delivered(sink: string): void;
  failedAttempt(sink: string): void;
  breakerChanged(sink: string, state: BreakerState): void;
  deadLettered(sink: string, count: number): void;
}

export type BreakerState = 'closed' | 'half-open' | 'open';

export interface RelayStatus {
  readonly sink: string;
  readonly connection: string;
  readonly breaker: BreakerState;
  readonly lagSeconds: number;
  /** Rows held in memory, out or waiting. */
  readonly inMemory: number;
  /** True while memory holds every waiting row, so commits are handed over without reading the table. */
  readonly live: boolean;
  /** Every row committed so far has been delivered or dead-lettered. */
  readonly caughtUp: boolean;
}

/** Rows read from the table at a time. */
const PAGE = 1000;
/** Delivered rows are deleted together, once this many wait or after RECORD_DELAY_MS. */
const DELETE_BATCH = 500;
const RECORD_DELAY_MS = 50;
/** After a failed read or write of the outbox table (the database is down), the next try. */
const DATABASE_RETRY_MS = 1000;
/** Looks for the rows of a failed batch 1, 2, 4 … 256 s after the last failure (about 8.5 minutes in all). */
const LOOK_STEPS = 9;
/** At most this many positions are looked for; beyond, rows that land late wait for the next start. */
const LOOK_FOR_MAX = 100_000;
/** A look that meets a read under way tries again this much later. */
const LOOK_AFTER_READ_MS = 50;

class RelayClosedError extends Error {
  override readonly name = 'RelayClosedError';
}
class AttemptsExhaustedError extends Error {
  override readonly name = 'AttemptsExhaustedError';
}

const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
const messageOf = (row: OutboxTable): SinkMessage => ({ id: row.event_id, type: row.event_type, payload: row.payload, trace: row.trace_parent ?? undefined });

const breakerStates: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Open]: 'open',
  [CircuitState.Isolated]: 'open',
};

/**
 * Delivers one sink's outbox rows, at least once each, in position order per order.
 *
 * - **Feeding.** While memory holds everything waiting (`live`), the journal hands each committed
 *   batch's rows over (`offer`) and nothing is read. When the window is full, or at start-up, the
 *   relay reads the table in position order instead, until it has caught up.
 * - **Order.** Rows are held in one lane per order; only a lane's head is ever out, so a later
 *   event of an order is sent only after the earlier one was delivered or dead-lettered.
 * - **Failures.** Each attempt has a time-out (the sink's); failed ones are retried with exponential backoff
 *   and jitter, behind a circuit breaker that opens after consecutive failures and lets one probe
 *   through after a pause. While it is open nothing else is sent; a probe that finds the sink
 *   unreachable is not counted against its row. A row whose own attempts reach the maximum
 *   becomes a dead letter and its lane goes on.
 * - **Afterwards.** Delivered rows are deleted in batches; attempts are written back, so a restart
 *   resumes from the table with them.
 * - **In a cluster** (`shards`), rows of one order are written by several processes (its products
 *   live elsewhere), so nothing is taken from memory: the relay reads the table for the rows of
 *   the shards its process serves, in position order, every `pollMs`, and again at once after a
 *   full page. Positions follow causality across processes (see `Outbox`), so an order's rows read
 *   together are in the order they happened. A shard that leaves takes its waiting rows with it;
 *   its next owner reads them.
 */
export class Relay {
  private readonly lanes = new Lanes();
  private live = false;
  private reading = false;
  /** Rows committed while a read runs; undefined when the read need not care. */
  private side: OutboxTable[] | undefined;
  private sideOverflowed = false;
  /** The highest position taken into memory: the next read starts after it. */
  private cursor = 0;
  /** When memory overflowed: the age of the first row left in the table, for the lag. */
  private backlogSince: number | undefined;
  private inFlight = 0;
  private readonly sending = new Set<Promise<void>>();
  private pausedUntil = 0;
  private openedAt = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  private readTimer: NodeJS.Timeout | undefined;
  private recordTimer: NodeJS.Timeout | undefined;
  private recording: Promise<void> | undefined;
  private readonly toDelete: number[] = [];
  /** Positions of rows whose batch failed to commit, looked for in the table until `LOOK_FOR_MS` runs out. */
  private readonly lookingFor = new Set<number>();
  private lookStep = 0;
  private lookTimer: NodeJS.Timeout | undefined;
  private readonly toNote = new Map<number, Delivery>();
  private readonly toBury: Delivery[] = [];
  private closed = false;
  private readonly stop = new AbortController();
  private readonly breaker: CircuitBreakerPolicy;
  private readonly retry: RetryPolicy;
  /**
   * Cluster mode: positions delivered or dead-lettered, with the number of the recording that
   * removed them from the table (Infinity until then). A read that began before that recording
   * may still return them; one that began after cannot, and they are forgotten.
   */
  private readonly settled = new Map<number, number>();
  private recordings = 0;
  private polledEmpty = false;

  constructor(
    readonly sink: Sink,
    private readonly store: OutboxStore,
    private readonly options: RelayOptions,
    private readonly observer: RelayObserver,
    private readonly log: Logger,
    private readonly shards?: ServedShards,
  ) {
    this.breaker = circuitBreaker(handleAll, {
      halfOpenAfter: options.breakerHalfOpenMs,
      breaker: new ConsecutiveBreaker(options.breakerFailures),
    });
    this.breaker.onStateChange((state) => {
      const name = breakerStates[state];
      if (state === CircuitState.Open) this.openedAt = Date.now();
      observer.breakerChanged(sink.name, name);
      if (state !== CircuitState.HalfOpen) this.log.warn({ sink: sink.name, breaker: name, lastError: this.lastFailure() }, `outbox circuit to ${sink.name} ${name}`);
      if (state === CircuitState.Closed) this.pump();
    });
    // An open circuit, a closing relay or a row out of attempts end the retries at once.
    const retryable = handleWhen((e) => !(e instanceof BrokenCircuitError || e instanceof RelayClosedError || e instanceof AttemptsExhaustedError));
    this.retry = retry(retryable, {
      maxAttempts: options.maxAttempts,
      backoff: new ExponentialBackoff({ initialDelay: options.backoffInitialMs, maxDelay: options.backoffMaxMs }),
    }).dangerouslyUnref();
    // Every attempt in flight may listen to the stop signal (up to `concurrency` at once).
    setMaxListeners(0, this.stop.signal);
    observer.breakerChanged(sink.name, 'closed');
  }

  /** Starts reading what the table holds for this sink; `oldestWaiting` is its oldest row's time, for the lag until then. */
  start(oldestWaiting?: number): void {
    this.backlogSince = oldestWaiting;
    this.pump();
  }

  /** Rows of this sink that a batch has just committed, in position order. */
  offer(rows: readonly OutboxTable[]): void {
    if (this.closed || rows.length === 0 || this.shards) return;
    if (this.live) {
      if (this.lanes.size + rows.length <= this.options.window) {
        for (const row of rows) this.hold(row);
        this.dispatch();
        return;
      }
      // Memory is full: these rows and the next ones wait in the table until there is room.
      this.live = false;
      this.backlogSince = rows[0]?.created_at;
      return;
    }
    if (this.side && !this.sideOverflowed) {
      if (this.side.length + rows.length <= this.options.window) this.side.push(...rows);
      else this.sideOverflowed = true;
    }
  }

  /**
   * A batch holding these rows failed, maybe by a time-out after which it still commits. Its rows
   * were never offered and sit below the cursor, so the relay looks for exactly these positions
   * in the table, at growing intervals (1 s, 2 s, … 256 s after the last failure): rows that
   * turn up are delivered. A commit landing later still is delivered at the next start, which
   * reads the whole table.
   */
  lookFor(positions: readonly number[]): void {
    // In a cluster every row is read from the table, those of late commits as well.
    if (this.closed || positions.length === 0 || this.shards) return;
    for (const p of positions) if (this.lookingFor.size < LOOK_FOR_MAX) this.lookingFor.add(p);
    this.lookStep = 0;
    this.scheduleLook();
  }

  private scheduleLook(): void {
    clearTimeout(this.lookTimer);
    if (this.closed || this.lookingFor.size === 0) return;
    if (this.lookStep >= LOOK_STEPS) {
      this.log.info({ sink: this.sink.name, rows: this.lookingFor.size }, 'outbox: rows of failed batches never appeared; should their commit land later, the next start delivers them');
      this.lookingFor.clear();
      return;
    }
    this.lookTimer = setTimeout(() => void this.look(), 1000 * 2 ** this.lookStep++).unref();
  }

  private async look(): Promise<void> {
    this.lookTimer = undefined;
    // A read under way may have begun before these rows landed, and pass over them before the
    // relay goes live; rows being deleted are delivered ones: look once both are done. A read
    // that begins from here on sees the rows.
    if (this.reading || this.recording) {
      this.lookTimer = setTimeout(() => void this.look(), LOOK_AFTER_READ_MS).unref();
      return;
    }
    try {
      const wanted = [...this.lookingFor].sort((a, b) => a - b);
      const rows = await this.store.pending(this.sink.name, (wanted[0] ?? 0) - 1, LOOK_FOR_MAX, wanted[wanted.length - 1] ?? 0);
      if (this.closed) return;
      const found = rows.filter((row) => this.lookingFor.has(row.position));
      // Delivered, their deletion not yet recorded: not to be sent again.
      const delivered = new Set(this.toDelete);
      for (const row of found) {
        this.lookingFor.delete(row.position);
        if (this.lanes.has(row.position) || delivered.has(row.position)) continue;
        // Behind the cursor no read will meet it. Past it, a relay reading the table meets it in
        // turn; a live one reads nothing, and every batch committed from now on has higher
        // positions (a failure fails every batch in flight), so it moves the cursor.
        if (row.position <= this.cursor) this.lanes.add(row);
        else if (this.live) this.hold(row);
      }
      if (found.length > 0) this.log.warn({ sink: this.sink.name, rows: found.length }, 'outbox: rows of a batch whose commit had timed out landed; delivering them');
    } catch (error) {
      this.log.warn({ err: error, sink: this.sink.name }, 'outbox: could not look for the rows of a failed batch; trying again');
    }
    this.scheduleLook();
    this.pump();
  }

  status(now = Date.now()): RelayStatus {
    const oldest = this.lanes.oldest()?.row.created_at ?? (this.live ? undefined : this.backlogSince);
    return {
      sink: this.sink.name,
      connection: this.sink.connection(),
      breaker: breakerStates[this.breaker.state],
      lagSeconds: oldest === undefined ? 0 : Math.max(0, (now - oldest) / 1000),
      inMemory: this.lanes.size,
      live: this.live,
      caughtUp: (this.shards ? this.polledEmpty : this.live) && this.lanes.size === 0,
    };
  }

  /**
   * One attempt for a dead letter; rejects when it fails. An admin asked for it, so it goes
   * whatever the circuit says, and the answer is the sink's own.
   */
  async sendOnce(row: OutboxTable): Promise<void> {
    try {
      await this.sink.send(messageOf(row), this.stop.signal);
    } catch (error) {
      this.observer.failedAttempt(this.sink.name);
      throw error;
    }
    this.observer.delivered(this.sink.name);
  }

  /** Stops sending, waits for the attempts in flight, and writes down what was delivered. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    for (const timer of [this.wakeTimer, this.readTimer, this.recordTimer, this.lookTimer]) clearTimeout(timer);
    await Promise.allSettled([...this.sending]);
    await this.recording;
    await this.recordOutcomes().catch((error: unknown) => this.log.warn({ err: error, sink: this.sink.name }, 'outbox: could not record the last deliveries; they will be sent again'));
  }

  private pump(): void {
    if (this.closed) return;
    this.fill();
    this.dispatch();
  }

  /** The shards `leaving` picks are served elsewhere now: their rows not yet out are left to the next owner. */
  forget(leaving: (shard: number) => boolean): void {
    this.lanes.drop((row) => leaving(row.shard));
  }

  private hold(row: OutboxTable): void {
    if (row.position <= this.cursor || this.lanes.has(row.position)) return;
    this.lanes.add(row);
    this.cursor = row.position;
  }

  /** Reads the table when memory does not hold everything and has room for a page. */
  private fill(): void {
    if (this.shards) return this.poll(this.shards);
    if (this.live || this.reading || this.readTimer) return;
    const room = this.options.window - this.lanes.size;
    const page = Math.min(PAGE, room);
    if (page < Math.min(PAGE, this.options.window / 2)) return;
    void this.read(page);
  }

  private async read(limit: number): Promise<void> {
    this.reading = true;
    this.side = [];
    this.sideOverflowed = false;
    try {
      const rows = await this.store.pending(this.sink.name, this.cursor, limit);
      if (this.closed) return;
      for (const row of rows) this.hold(row);
      if (rows.length < limit) {
        // The table had nothing more when it was read; what committed since came through offer().
        const side = this.side;
        if (!this.sideOverflowed && this.lanes.size + side.length <= this.options.window) {
          for (const row of side) this.hold(row);
          this.live = true;
          this.backlogSince = undefined;
        } else {
          this.backlogSince = side[0]?.created_at ?? this.backlogSince;
        }
      }
    } catch (error) {
      this.log.warn({ err: error, sink: this.sink.name }, 'outbox: could not read the outbox table; trying again');
      this.readTimer = setTimeout(() => {
        this.readTimer = undefined;
        this.pump();
      }, DATABASE_RETRY_MS).unref();
    } finally {
      this.reading = false;
      this.side = undefined;
    }
    this.pump();
  }

  private poll(shards: ServedShards): void {
    if (this.reading || this.readTimer || this.closed) return;
    const room = this.options.window - this.lanes.size;
    if (room < Math.min(PAGE, this.options.window / 2)) return;
    void this.readServed(shards, Math.min(PAGE, room));
  }

  private async readServed(shards: ServedShards, limit: number): Promise<void> {
    this.reading = true;
    const since = this.recordings;
    let full = false;
    let again = this.options.pollMs;
    try {
      const rows = await this.store.pendingIn(this.sink.name, shards.served(), limit);
      if (this.closed) return;
      for (const row of rows) {
        if (shards.serves(row.shard) && !this.lanes.has(row.position) && !this.settled.has(row.position)) this.lanes.add(row);
      }
      for (const [position, removedBy] of this.settled) if (removedBy <= since) this.settled.delete(position);
      full = rows.length === limit;
      this.polledEmpty = rows.length === 0;
    } catch (error) {
      this.log.warn({ err: error, sink: this.sink.name }, 'outbox: could not read the outbox table; trying again');
      again = DATABASE_RETRY_MS;
    } finally {
      this.reading = false;
    }
    if (this.closed) return;
    this.readTimer = setTimeout(
      () => {
        this.readTimer = undefined;
        this.pump();
      },
      full ? 0 : again,
    ).unref();
    this.dispatch();
  }

  private dispatch(): void {
    if (this.closed) return;
    if (Date.now() < this.pausedUntil) return this.wakeAtPauseEnd();
    // While the circuit is not closed, one row at a time probes it.
    const limit = this.breaker.state === CircuitState.Closed ? this.options.concurrency : 1;
    while (this.inFlight < limit) {
      const delivery = this.lanes.take();
      if (!delivery) return;
      this.inFlight++;
      void this.deliver(delivery);
    }
  }

  private async deliver(delivery: Delivery): Promise<void> {
    try {
      await this.retry.execute(() => this.attempt(delivery), this.stop.signal);
      this.delivered(delivery);
    } catch (error) {
      if (this.closed) return;
      if (error instanceof BrokenCircuitError) {
        this.lanes.putBack(delivery);
        this.pause();
      } else if (delivery.attempts >= this.options.maxAttempts) {
        this.toBury.push(delivery);
        this.scheduleRecord(true);
      } else {
        this.lanes.putBack(delivery);
      }
    } finally {
      this.inFlight--;
      this.pump();
    }
  }

  private attempt(delivery: Delivery): Promise<void> {
    if (this.closed) throw new RelayClosedError('the relay is closing');
    if (delivery.attempts >= this.options.maxAttempts) throw new AttemptsExhaustedError(`${delivery.attempts} attempts failed`);
    return this.breaker.execute(async () => {
      const probing = this.breaker.state !== CircuitState.Closed;
      // The sink bounds each send by its time-out (cockatiel's timeout policy would cost an
      // AbortController and a listener per event, a sixth of the relay's CPU).
      const sent = this.sink.send(messageOf(delivery.row), this.stop.signal);
      this.sending.add(sent);
      try {
        await sent;
      } catch (error) {
        // A probe of an open circuit that finds the sink unreachable says nothing about the row:
        // it is not counted, so that a long outage does not turn rows into dead letters. A probe
        // the sink answers with a refusal counts, so a row it never takes still ends.
        const unreachable = error instanceof SinkUnavailableError;
        if (!probing || !unreachable) delivery.attempts++;
        delivery.lastError = describe(error);
        this.observer.failedAttempt(this.sink.name);
        this.toNote.set(delivery.row.position, delivery);
        this.scheduleRecord(false);
        throw error;
      } finally {
        this.sending.delete(sent);
      }
    });
  }

  private delivered(delivery: Delivery): void {
    this.lanes.release(delivery);
    this.observer.delivered(this.sink.name);
    this.toNote.delete(delivery.row.position);
    this.toDelete.push(delivery.row.position);
    if (this.shards) this.settled.set(delivery.row.position, Infinity);
    this.scheduleRecord(this.toDelete.length >= DELETE_BATCH);
  }

  /** The circuit is open: send nothing until it may let a probe through. */
  private pause(): void {
    this.pausedUntil = Math.max(Date.now() + 10, this.openedAt + this.options.breakerHalfOpenMs);
    this.wakeAtPauseEnd();
  }

  private wakeAtPauseEnd(): void {
    clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.pump();
      },
      Math.max(0, this.pausedUntil - Date.now()),
    ).unref();
  }

  private lastFailure(): string | undefined {
    const failure = this.breaker.lastFailure;
    return failure && 'error' in failure ? describe(failure.error) : undefined;
  }

  private scheduleRecord(now: boolean): void {
    if (this.closed || this.recording) return;
    if (this.recordTimer && !now) return;
    clearTimeout(this.recordTimer);
    this.recordTimer = setTimeout(
      () => {
        this.recordTimer = undefined;
        this.recording = this.recordOutcomes()
          .catch((error: unknown) => {
            this.log.warn({ err: error, sink: this.sink.name }, 'outbox: could not update the outbox table; trying again');
            return new Promise<void>((resolve) => setTimeout(resolve, DATABASE_RETRY_MS).unref());
          })
          .finally(() => {
            this.recording = undefined;
            if (this.toDelete.length > 0 || this.toBury.length > 0 || this.toNote.size > 0) this.scheduleRecord(true);
            this.pump();
          });
      },
      now ? 0 : RECORD_DELAY_MS,
    ).unref();
  }

  /** Writes down deliveries, failures and dead letters; a failed write keeps them for the next try. */
  private async recordOutcomes(): Promise<void> {
    while (this.toDelete.length > 0) {
      const positions = this.toDelete.splice(0, DELETE_BATCH * 4);
      try {
        await this.store.deleteDelivered(positions);
      } catch (error) {
        this.toDelete.unshift(...positions);
        throw error;
      }
      if (this.shards) {
        this.recordings++;
        for (const p of positions) this.settled.set(p, this.recordings);
      }
    }
    if (this.toBury.length > 0) {
      const dead = this.toBury.splice(0);
      try {
        await this.store.bury(
          dead.map((d) => ({ ...d.row, attempts: d.attempts, last_error: d.lastError })),
          Date.now(),
        );
      } catch (error) {
        this.toBury.unshift(...dead);
        throw error;
      }
      if (this.shards) this.recordings++;
      for (const d of dead) {
        if (this.shards) this.settled.set(d.row.position, this.recordings);
        this.toNote.delete(d.row.position);
        if (!this.closed) this.lanes.release(d);
        this.log.warn({ sink: this.sink.name, eventId: d.row.event_id, attempts: d.attempts, lastError: d.lastError }, 'outbox event moved to dead letters');
      }
      this.observer.deadLettered(this.sink.name, dead.length);
    }
    if (this.toNote.size > 0) {
      const notes = [...this.toNote.values()];
      this.toNote.clear();
      try {
        await this.store.noteAttempts(notes.map((d) => ({ position: d.row.position, attempts: d.attempts, lastError: d.lastError })));
      } catch (error) {
        for (const d of notes) if (!this.toNote.has(d.row.position)) this.toNote.set(d.row.position, d);
        throw error;
      }
    }
  }
}
