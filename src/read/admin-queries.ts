// The admin page's reads: an actor's journal paged, an order's saga as a timeline, and the work the sweeper would resume.

import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { ActorKind } from '../../actors/shared/entity.js';
import type { Schema } from '../db/schema.js';
import { BadCursorError } from './cursor.js';
import type { Page } from './queries.js';

/** One event as the journal holds it. */
export interface JournalEntryView {
  readonly sequenceNr: number;
  readonly type: string;
  /** When the actor appended it (ms since 1970). */
  readonly at: number;
  /**
   * The journal transaction that made it durable (PostgreSQL's transaction id of the row);
   * events with the same value committed in one batch. Null on MySQL, which does not expose it.
   */
  readonly batch: string | null;
  readonly event: unknown;
}

export type SagaStepName = 'created' | 'payment-started' | 'reserve' | 'release' | 'debit' | 'refund' | 'paid' | 'failed' | 'cancel-started' | 'cancelled' | 'expired';

/** One durable step of an order's life, on whichever actor made it. */
export interface TimelineStep extends JournalEntryView {
  readonly step: SagaStepName;
  readonly actor: { readonly kind: ActorKind; readonly id: string };
  /** `ok`, or the error code the saga failed with. */
  readonly outcome: string;
  readonly detail: string;
}

export interface OrderTimeline {
  readonly id: string;
  readonly userId: string;
  readonly status: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly steps: TimelineStep[];
}

export interface StuckOrder {
  readonly id: string;
  readonly userId: string;
  /** PAYING or CANCELLING, as the read model holds it. */
  readonly status: string;
  readonly total: number;
  readonly updatedAt: number;
}

export interface OpenClaim {
  readonly userId: string;
  readonly couponId: string;
  readonly updatedAt: number;
}

const MAX_TIMELINE_EVENTS = 1000;

type Key = readonly [updatedAt: number, ...ids: string[]];
const isKey = (value: unknown, ids: number): value is Key =>
  Array.isArray(value) &&
  value.length === ids + 1 &&
  Number.isSafeInteger(value[0]) &&
  value.slice(1).every((v) => typeof v === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v));
const encodeKey = (key: Key): string => Buffer.from(JSON.stringify(key)).toString('base64url');
function decodeKey(cursor: string | undefined, ids: number): Key | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new BadCursorError('cursor is not valid');
  }
  if (!isKey(value, ids)) throw new BadCursorError('cursor is not valid');
  return value;
}

/**
 * ```ts
 * const admin = new AdminQueries(database.reads, database.traits);
 * const page = await admin.actorEvents('product', 'p1', { limit: 20 });
 * ```
 */
export class AdminQueries {
  private readonly batch: RawBuilder<string | null>;

  constructor(
    private readonly db: Kysely<Schema>,
    traits: { readonly dialect: string },
  ) {
    // Every journal batch is one transaction, so the inserting transaction's id names the batch.
    this.batch = traits.dialect === 'mysql' ? sql<null>`null` : sql<string>`xmin::text`;
  }

  /** An actor's events, newest first; undefined when the journal holds none (no such actor). */
  async actorEvents(kind: ActorKind, id: string, opts: { cursor?: string; limit: number }): Promise<Page<JournalEntryView> | undefined> {
    const before = opts.cursor === undefined ? undefined : Number(opts.cursor);
    const rows = await this.db
      .selectFrom('journal')
      .select(['sequence_nr', 'event_type', 'payload', 'created_at', this.batch.as('batch')])
      .where('persistence_key', '=', `${kind}-${id}`)
      .$if(before !== undefined, (q) => q.where('sequence_nr', '<', before as number))
      .orderBy('sequence_nr', 'desc')
      .limit(opts.limit + 1)
      .execute();
    if (rows.length === 0 && before === undefined) return undefined;
    const items = rows.slice(0, opts.limit).map(entryOf);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > opts.limit && last ? String(last.sequenceNr) : null };
  }

  /** The order's own events and those its sagas made on its products and user, oldest first. */
  async orderTimeline(id: string): Promise<OrderTimeline | undefined> {
    const order = await this.db.selectFrom('orders').select(['id', 'user_id', 'status', 'created_at', 'updated_at']).where('id', '=', id).executeTakeFirst();
    if (!order) return undefined;
    const items = await this.db.selectFrom('order_items').select('product_id').where('order_id', '=', id).execute();
    const others = [`user-${order.user_id}`, ...items.map((i) => `product-${i.product_id}`)];
    const columns = ['persistence_key', 'sequence_nr', 'event_type', 'payload', 'created_at', this.batch.as('batch')] as const;
    const [own, steps] = await Promise.all([
      this.db.selectFrom('journal').select(columns).where('persistence_key', '=', `order-${id}`).orderBy('sequence_nr').limit(MAX_TIMELINE_EVENTS).execute(),
      // The (persistence_key, ref) index: each product and the user record the order id as the command id.
      this.db.selectFrom('journal').select(columns).where('persistence_key', 'in', others).where('ref', '=', id).limit(MAX_TIMELINE_EVENTS).execute(),
    ]);
    const timeline = [...own, ...steps]
      .map((row) => stepOf(row.persistence_key, entryOf(row)))
      .filter((step): step is TimelineStep => step !== undefined)
      .sort((a, b) => a.at - b.at || rank(a) - rank(b));
    return {
      id: order.id,
      userId: order.user_id,
      status: order.status,
      createdAt: Number(order.created_at),
      updatedAt: Number(order.updated_at),
      steps: timeline,
    };
  }

  /** The read model's status of an order, or undefined when there is no such order. */
  async orderStatus(id: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('orders').select('status').where('id', '=', id).executeTakeFirst();
    return row?.status;
  }

  async userExists(id: string): Promise<boolean> {
    return (await this.db.selectFrom('users').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  }

  async openClaimsOf(userId: string): Promise<number> {
    const rows = await this.db.selectFrom('user_coupons').select('coupon_id').where('user_id', '=', userId).where('status', '=', 'CLAIMING').execute();
    return rows.length;
  }

  /** Orders left PAYING or CANCELLING since before `cutoff`, oldest first: what the sweeper resumes. */
  async stuckOrders(opts: { cutoff: number; cursor?: string; limit: number }): Promise<Page<StuckOrder>> {
    const after = decodeKey(opts.cursor, 1);
    const rows = await this.db
      .selectFrom('orders')
      .select(['id', 'user_id', 'status', 'total', 'updated_at'])
      .where('status', 'in', ['PAYING', 'CANCELLING'])
      .where('updated_at', '<=', opts.cutoff)
      .$if(after !== undefined, (q) =>
        q.where((eb) => eb.or([eb('updated_at', '>', after![0]), eb.and([eb('updated_at', '=', after![0]), eb('id', '>', after![1] as string)])])),
      )
      .orderBy('updated_at')
      .orderBy('id')
      .limit(opts.limit + 1)
      .execute();
    const items = rows.slice(0, opts.limit).map((r) => ({ id: r.id, userId: r.user_id, status: r.status, total: Number(r.total), updatedAt: Number(r.updated_at) }));
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > opts.limit && last ? encodeKey([last.updatedAt, last.id]) : null };
  }

  /** Coupon claims left open since before `cutoff`, oldest first: what the sweeper resumes. */
  async openClaims(opts: { cutoff: number; cursor?: string; limit: number }): Promise<Page<OpenClaim>> {
    const after = decodeKey(opts.cursor, 2);
    const rows = await this.db
      .selectFrom('user_coupons')
      .select(['user_id', 'coupon_id', 'updated_at'])
      .where('status', '=', 'CLAIMING')
      .where('updated_at', '<=', opts.cutoff)
      .$if(after !== undefined, (q) =>
        q.where((eb) =>
          eb.or([
            eb('updated_at', '>', after![0]),
            eb.and([eb('updated_at', '=', after![0]), eb('user_id', '>', after![1] as string)]),
            eb.and([eb('updated_at', '=', after![0]), eb('user_id', '=', after![1] as string), eb('coupon_id', '>', after![2] as string)]),
          ]),
        ),
      )
      .orderBy('updated_at')
      .orderBy('user_id')
      .orderBy('coupon_id')
      .limit(opts.limit + 1)
      .execute();
    const items = rows.slice(0, opts.limit).map((r) => ({ userId: r.user_id, couponId: r.coupon_id, updatedAt: Number(r.updated_at) }));
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > opts.limit && last ? encodeKey([last.updatedAt, last.userId, last.couponId]) : null };
  }
}

function entryOf(row: { sequence_nr: number; event_type: string; payload: string; created_at: number; batch: string | null }): JournalEntryView {
  return { sequenceNr: Number(row.sequence_nr), type: row.event_type, at: Number(row.created_at), batch: row.batch, event: JSON.parse(row.payload) };
}

/** Where several steps share a millisecond, the saga's own order: the order starts, products and user act, the order ends. */
const rank = (step: TimelineStep): number => (step.actor.kind === 'order' ? (step.step === 'created' || step.step.endsWith('started') ? 0 : 2) : 1);

/** The step an event records; undefined for events a saga does not make. */
function stepOf(persistenceKey: string, entry: JournalEntryView): TimelineStep | undefined {
  const dash = persistenceKey.indexOf('-');
  const actor = { kind: persistenceKey.slice(0, dash) as ActorKind, id: persistenceKey.slice(dash + 1) };
  const event = entry.event as Record<string, unknown>;
  const at = (step: SagaStepName, detail: string, outcome = 'ok'): TimelineStep => ({ ...entry, actor, step, outcome, detail });
  switch (entry.type) {
    case 'OrderCreated':
      return at('created', `total ${String(event['total'])}`);
    case 'PaymentStarted':
      return at('payment-started', 'payment saga started');
    case 'StockReserved':
      return at('reserve', `${String(event['quantity'])} reserved`);
    case 'StockReleased':
      return at('release', `${String(event['quantity'])} released`);
    case 'PointsDebited':
      return at('debit', `${String(event['amount'])} points debited`);
    case 'PointsRefunded':
      return at('refund', `${String(event['amount'])} points refunded`);
    case 'OrderPaid':
      return at('paid', 'order paid');
    case 'OrderFailed': {
      const failure = (event['failure'] ?? {}) as { error?: string; message?: string };
      return at('failed', failure.message ?? 'payment failed', failure.error ?? 'FAILED');
    }
    case 'CancelStarted':
      return at('cancel-started', 'cancel saga started');
    case 'OrderCancelled':
      return at('cancelled', 'order cancelled');
    case 'OrderExpired':
      return at('expired', 'unpaid order expired', 'EXPIRED');
    default:
      return undefined;
  }
}
