// The outbox as the engine sees it: rows for each commit, one relay per configured sink, dead letters for the admin API.

import pino, { type Logger } from 'pino';
import type { OutboxConfig } from '../config.js';
import type { Database } from '../db/connect.js';
import type { OutboxDeadLettersTable, OutboxTable } from '../db/schema.js';
import type { OutboxHandoff } from '../journal/batch-writer.js';
import type { AppendEntry } from '../journal/journal.js';
import type { Metrics } from '../metrics.js';
import type { Spans } from '../tracing/spans.js';
import { LogSink } from './log-sink.js';
import { NatsSink } from './nats-sink.js';
import { OutboxStore } from './outbox-store.js';
import { Relay, type BreakerState, type RelayObserver, type RelayStatus, type ServedShards } from './relay.js';
import type { Sink } from './sink.js';
import { TracedSink } from './traced-sink.js';
import { WebhookSink } from './webhook-sink.js';

/** A dead letter as the admin API shows it. */
export interface DeadLetterView {
  readonly id: string;
  readonly eventId: string;
  readonly sink: string;
  readonly type: string;
  readonly orderId: string;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly createdAt: number;
  readonly failedAt: number;
  /** The body that was (and will be) sent. */
  readonly event: unknown;
}

export type RetryOutcome =
  | { readonly ok: true; readonly value: DeadLetterView }
  | { readonly ok: false; readonly error: 'NOT_FOUND' | 'SINK_NOT_CONFIGURED' | 'DELIVERY_FAILED'; readonly message: string };

export interface OutboxOptions {
  readonly logLevel: string;
  readonly metrics?: Metrics;
  /** Sinks to use instead of those the configuration names (tests inject faulty ones). */
  readonly sinks?: readonly Sink[];
  /** In a cluster: where an order's rows belong, and this process's place among the members. */
  readonly cluster?: OutboxPlacement;
  /** Tracing on: each send of a row committed under a trace is a publish span in it. */
  readonly spans?: Spans;
}

/** How a cluster member numbers and relays outbox rows. */
export interface OutboxPlacement extends ServedShards {
  shardOf(orderId: string): number;
  /** This member's slot, unique among the live members, below `POSITION_SLOTS`: the low part of every position it hands out. */
  readonly slot: number;
}

/**
 * In a cluster a position is `clock × POSITION_SLOTS + slot`. The clock is a Lamport clock: it
 * counts up with every row, and every message between processes carries it, so that a process
 * receiving one moves its own past the sender's. A row written after a message from another
 * process (a product's reservation answered to the order's process, then \`OrderPaid\`) therefore
 * has a higher position than every row the sender had written: positions follow causality, and
 * the slot keeps two processes' positions apart.
 */
export const POSITION_SLOTS = 4096;

const BREAKER_GAUGE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

const view = (row: OutboxDeadLettersTable): DeadLetterView => ({
  id: String(row.position),
  eventId: row.event_id,
  sink: row.sink,
  type: row.event_type,
  orderId: row.order_key,
  attempts: row.attempts,
  lastError: row.last_error,
  createdAt: row.created_at,
  failedAt: row.failed_at,
  event: JSON.parse(row.payload) as unknown,
});

/**
 * Every committed outbox message becomes one row per configured sink (NATS, webhook, or both),
 * numbered in commit order and written in the journal's transaction; each sink's relay delivers
 * its rows on its own. With no sink configured the messages go to the log at commit instead.
 *
 * ```ts
 * const outbox = await Outbox.open(database, config.outbox, { logLevel: 'info', metrics });
 * const journal = new BatchWriter(store, { ...config.journal, outbox });
 * outbox.start();
 * ```
 */
export class Outbox implements OutboxHandoff {
  private nextPosition: number;
  /** Cluster mode: the Lamport clock (see `POSITION_SLOTS`). */
  private clock: number;
  private readonly relays: ReadonlyMap<string, Relay>;

  private constructor(
    private readonly store: OutboxStore,
    relays: readonly Relay[],
    private readonly logSink: LogSink | undefined,
    firstPosition: number,
    private readonly metrics: Metrics | undefined,
    private readonly waitingAtOpen: ReadonlyMap<string, { rows: number; oldest: number }>,
    private readonly placement: OutboxPlacement | undefined,
  ) {
    this.relays = new Map(relays.map((r) => [r.sink.name, r]));
    this.nextPosition = firstPosition;
    this.clock = Math.ceil(firstPosition / POSITION_SLOTS);
  }

  static async open(database: Database, config: OutboxConfig, options: OutboxOptions): Promise<Outbox> {
    const log = pino({ level: options.logLevel, base: { component: 'outbox' } });
    const store = new OutboxStore(database);
    const { metrics, spans } = options;
    const sinks: Sink[] = (options.sinks ?? configuredSinks(config, log)).map((sink) => (spans ? new TracedSink(sink, spans) : sink));
    const observer: RelayObserver = {
      delivered: (sink) => metrics?.outboxDelivered.inc({ sink }),
      failedAttempt: (sink) => metrics?.outboxFailedAttempts.inc({ sink }),
      breakerChanged: (sink, state) => metrics?.outboxBreakerState.set({ sink }, BREAKER_GAUGE[state]),
      deadLettered: (_sink, count) => metrics?.outboxDeadLetters.inc(count),
    };
    const relays = sinks.map((sink) => new Relay(sink, store, config, observer, log, options.cluster));
    const [maxPosition, deadLetters, waiting] = await Promise.all([store.maxPosition(), store.countDeadLetters(), store.waitingBySink()]);
    metrics?.outboxDeadLetters.set(deadLetters);
    for (const [sink, { rows }] of waiting) {
      if (!relays.some((r) => r.sink.name === sink)) log.warn({ sink, rows }, 'outbox rows wait for a sink that is not configured; they stay until it is');
    }
    const logSink = relays.length === 0 ? new LogSink(log) : undefined;
    if (logSink) log.info('outbox: neither NATS_URL nor DATA_PLATFORM_URL is set; committed events go to the log');
    return new Outbox(store, relays, logSink, maxPosition + 1, metrics, waiting, options.cluster);
  }

  /** Whether committed events go anywhere: when not, actors need not build the messages at all. */
  get publishing(): boolean {
    return this.relays.size > 0 || (this.logSink?.enabled ?? false);
  }

  /** Whether a sink (NATS, the webhook) takes the rows, rather than the log. */
  get relaying(): boolean {
    return this.relays.size > 0;
  }

  /** Starts every relay on what its table holds. */
  start(): void {
    for (const relay of this.relays.values()) relay.start(this.waitingAtOpen.get(relay.sink.name)?.oldest);
  }

  /** Cluster mode: the clock every message to another process carries. */
  get lamport(): number {
    return this.clock;
  }

  /** Cluster mode: a message from another process carried `clock`; rows written from now on number past it. */
  observe(clock: number): void {
    if (clock > this.clock) this.clock = clock;
  }

  /**
   * Cluster mode, before serving shards taken from another process (alive or dead): rows from
   * here on number past every row still in the table, theirs included, so an order's rows stay
   * in order across the move.
   */
  async passRowsWaiting(): Promise<void> {
    this.observe(Math.floor((await this.store.maxPosition()) / POSITION_SLOTS));
  }

  /** Cluster mode: the rows of shards now served elsewhere are left to their next owner. */
  forget(leaving: (shard: number) => boolean): void {
    for (const relay of this.relays.values()) relay.forget(leaving);
  }

  private position(): number {
    if (!this.placement) return this.nextPosition++;
    return ++this.clock * POSITION_SLOTS + this.placement.slot;
  }

  rows(entries: readonly AppendEntry[]): OutboxTable[] {
    if (this.relays.size === 0) return [];
    const rows: OutboxTable[] = [];
    for (const entry of entries) {
      for (const m of entry.outbox ?? []) {
        const shard = this.placement?.shardOf(m.orderId) ?? 0;
        for (const sink of this.relays.keys()) {
          rows.push({
            position: this.position(),
            shard,
            sink,
            event_id: m.id,
            order_key: m.orderId,
            event_type: m.type,
            payload: m.payload,
            created_at: m.at,
            attempts: 0,
            last_error: null,
            trace_parent: entry.trace ?? null,
          });
        }
      }
    }
    return rows;
  }

  committed(entries: readonly AppendEntry[], rows: readonly OutboxTable[]): void {
    if (this.logSink) {
      if (!this.logSink.enabled) return;
      for (const entry of entries) for (const m of entry.outbox ?? []) this.logSink.write(m);
      return;
    }
    if (this.relays.size === 1) {
      for (const relay of this.relays.values()) relay.offer(rows);
      return;
    }
    for (const [sink, relay] of this.relays) relay.offer(rows.filter((r) => r.sink === sink));
  }

  uncertain(rows: readonly OutboxTable[]): void {
    for (const [sink, relay] of this.relays) relay.lookFor(rows.filter((r) => r.sink === sink).map((r) => r.position));
  }

  /** Each relay's sink, connection, breaker and lag; empty when events go to the log. */
  status(): RelayStatus[] {
    const now = Date.now();
    return [...this.relays.values()].map((r) => r.status(now));
  }

  /** Refreshes the lag gauges (the others move as things happen). */
  collectGauges(): void {
    for (const s of this.status()) this.metrics?.outboxLag.set({ sink: s.sink }, s.lagSeconds);
  }

  async deadLetters(opts: { cursor?: string; limit: number }): Promise<{ items: DeadLetterView[]; nextCursor: string | null }> {
    const after = opts.cursor === undefined ? 0 : Number(opts.cursor);
    const rows = await this.store.deadLetters(Number.isSafeInteger(after) ? after : 0, opts.limit + 1);
    const items = rows.slice(0, opts.limit).map(view);
    return { items, nextCursor: rows.length > opts.limit ? (items[items.length - 1]?.id ?? null) : null };
  }

  /** Sends one dead letter again (one attempt); removes it when the sink has it. */
  async retryDeadLetter(id: string): Promise<RetryOutcome> {
    const position = Number(id);
    const row = Number.isSafeInteger(position) ? await this.store.deadLetter(position) : undefined;
    if (!row) return { ok: false, error: 'NOT_FOUND', message: `dead letter ${id} not found` };
    const relay = this.relays.get(row.sink);
    if (!relay) return { ok: false, error: 'SINK_NOT_CONFIGURED', message: `dead letter ${id} is for the ${row.sink} sink, which is not configured` };
    try {
      await relay.sendOnce(row);
    } catch (error) {
      const lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      await this.store.noteDeadLetterFailure({ position, attempts: row.attempts + 1, lastError }, Date.now());
      return { ok: false, error: 'DELIVERY_FAILED', message: `the ${row.sink} sink did not take dead letter ${id}: ${lastError}` };
    }
    if (await this.store.removeDeadLetter(position)) this.metrics?.outboxDeadLetters.dec();
    return { ok: true, value: view(row) };
  }

  /** Stops the relays (what they delivered is recorded; the rest waits for the next start) and the sinks. */
  async close(): Promise<void> {
    await Promise.all([...this.relays.values()].map((r) => r.close()));
    await Promise.all([...this.relays.values()].map((r) => r.sink.close()));
  }
}

function configuredSinks(config: OutboxConfig, log: Logger): Sink[] {
  const sinks: Sink[] = [];
  if (config.natsUrl) {
    sinks.push(new NatsSink({ url: config.natsUrl, stream: config.natsStream, subjectPrefix: config.natsSubjectPrefix, timeoutMs: config.timeoutMs }, log));
  }
  if (config.dataPlatformUrl) sinks.push(new WebhookSink(config.dataPlatformUrl, config.timeoutMs));
  return sinks;
}
