// What one batch writes, worked out once: journal rows, the latest snapshot per actor, read-model rows coalesced per entity.

import type {
  CouponsTable,
  JournalTable,
  OrderItemsTable,
  OrdersTable,
  OutboxTable,
  ProductSalesDailyTable,
  ProductsTable,
  SnapshotsTable,
  UserCouponsTable,
  UsersTable,
} from '../db/schema.js';
import type { AppendEntry, ReadModelRow } from './journal.js';

export interface TableWrites<R> {
  /** Entities created in this batch: inserted with their latest row. */
  readonly inserts: R[];
  /** Entities that existed before: their latest row replaces the mutable columns. */
  readonly updates: R[];
}

export interface BatchPlan {
  readonly events: JournalTable[];
  readonly snapshots: SnapshotsTable[];
  readonly users: TableWrites<UsersTable>;
  readonly products: TableWrites<ProductsTable>;
  readonly orders: TableWrites<OrdersTable>;
  readonly orderItems: OrderItemsTable[];
  readonly coupons: TableWrites<CouponsTable>;
  /** The latest row of every user coupon claim touched, written as upserts. */
  readonly userCoupons: UserCouponsTable[];
  /** Sales deltas summed per product and day. */
  readonly sales: ProductSalesDailyTable[];
  /** Events waiting for their sinks, committed with the events that caused them. */
  readonly outbox: readonly OutboxTable[];
}

export function planBatch(entries: readonly AppendEntry[], now = Date.now(), outbox: readonly OutboxTable[] = []): BatchPlan {
  const events: JournalTable[] = [];
  const snapshots = new Map<string, SnapshotsTable>();
  const rows = new Map<string, { row: ReadModelRow; creates: boolean }>();
  const sales = new Map<string, ProductSalesDailyTable>();
  const userCoupons = new Map<string, UserCouponsTable>();
  for (const entry of entries) {
    for (const s of entry.sales ?? []) {
      const key = `${s.productId}|${s.day}`;
      const sum = sales.get(key);
      if (sum) sum.units += s.units;
      else sales.set(key, { product_id: s.productId, day: s.day, units: s.units });
    }
    for (const e of entry.events) {
      events.push({ persistence_key: entry.key, sequence_nr: e.sequenceNr, event_type: e.type, ref: e.ref, payload: e.payload, created_at: e.at });
    }
    if (entry.snapshot) {
      snapshots.set(entry.key, { persistence_key: entry.key, sequence_nr: entry.snapshot.sequenceNr, state: entry.snapshot.state, created_at: now });
    }
    if (entry.row?.table === 'users') {
      for (const c of entry.row.coupons ?? []) userCoupons.set(`${c.user_id}|${c.coupon_id}`, c);
    }
    if (entry.row) {
      const previous = rows.get(entry.key);
      rows.set(entry.key, { row: entry.row, creates: entry.creates || (previous?.creates ?? false) });
    }
  }
  const plan: BatchPlan = {
    events,
    snapshots: [...snapshots.values()],
    users: { inserts: [], updates: [] },
    products: { inserts: [], updates: [] },
    orders: { inserts: [], updates: [] },
    orderItems: [],
    coupons: { inserts: [], updates: [] },
    userCoupons: [...userCoupons.values()],
    // In key order: in a cluster several processes add to one product's day, and batches that
    // lock those rows in different orders would deadlock one another.
    sales: [...sales.entries()]
      .filter(([, s]) => s.units !== 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, s]) => s),
    outbox,
  };
  for (const { row, creates } of rows.values()) {
    switch (row.table) {
      case 'users':
        (creates ? plan.users.inserts : plan.users.updates).push(row.row);
        break;
      case 'products':
        (creates ? plan.products.inserts : plan.products.updates).push(row.row);
        break;
      case 'orders':
        (creates ? plan.orders.inserts : plan.orders.updates).push(row.row);
        if (creates) plan.orderItems.push(...row.items);
        break;
      case 'coupons':
        (creates ? plan.coupons.inserts : plan.coupons.updates).push(row.row);
        break;
    }
  }
  return plan;
}
