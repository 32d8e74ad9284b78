// A batch as PostgreSQL array statements: one parameter per column, so every statement's text is
// the same from batch to batch, is prepared once per connection, and the batch pipelines in one round trip.

import { sql, type CompiledQuery, type Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';
import type { BatchPlan } from './batch-plan.js';

type ColumnValue = string | number | null;
/** Turns a column into its statement parameter: a JS array (postgres.js serialises it) or an array literal. */
export type ColumnParameter = (values: ColumnValue[]) => ColumnValue[] | string;

/**
 * A JSON escape that means something else inside an array literal (`\n`, `\t`, `\u0001`, `\ud800`, …):
 * a backslash that an odd run of them leaves over, followed by one of those letters. An even run
 * is escaped backslashes, and the letter after it is just a letter.
 */
const JSON_ONLY_ESCAPE = /(?<!\\)(?:\\\\)*\\[bfnrtu]/;

/**
 * A column as a PostgreSQL array literal, written by the native `JSON.stringify` instead of
 * postgres.js's per-element escaping in JS (the engine's one thread spent a notable share of a
 * batch on the latter: event payloads are JSON, full of quotes). JSON escapes `"` and `\` as
 * `\"` and `\\`, exactly as an array literal does, and writes a null as `null`, which an array
 * literal reads as NULL; so once `[…]` becomes `{…}`, a column of strings is the very text
 * postgres.js would send, and numbers differ only in being unquoted. A column whose JSON holds
 * any other escape (control characters, lone surrogates) is left to postgres.js, as before.
 */
export const arrayLiteral: ColumnParameter = (values) => {
  // JSON would write NaN or Infinity as null: such a bug must be refused by PostgreSQL, not stored as NULL.
  for (const v of values) if (typeof v === 'number' && !Number.isFinite(v)) return values;
  const json = JSON.stringify(values);
  return JSON_ONLY_ESCAPE.test(json) ? values : `{${json.slice(1, -1)}}`;
};

/**
 * The batch's statements in two parts: `fresh` writes rows that no other batch writes (its
 * events and outbox rows, under keys and positions of their own), so it waits for no other
 * transaction's lock and none waits for its own; `rest` reads and changes shared rows (the
 * read model, snapshots, sales). See `TransactionInOrder`.
 */
export interface BatchStatements {
  readonly fresh: CompiledQuery[];
  readonly rest: CompiledQuery[];
}

/**
 * The batch's statements, `fresh` first. `parameter` is how a column is bound: `arrayLiteral`
 * unless a benchmark compares it with postgres.js's own serialisation (`(values) => values`).
 *
 * ```ts
 * const { fresh, rest } = arrayStatements(db, planBatch(entries));
 * await database.transact([...fresh, ...rest]);
 * ```
 */
export function arrayStatements(db: Kysely<Schema>, plan: BatchPlan, parameter: ColumnParameter = arrayLiteral): BatchStatements {
  const column = <R extends Record<K, ColumnValue>, K extends keyof R>(rows: readonly R[], key: K) => parameter(rows.map((r) => r[key]));
  const fresh: CompiledQuery[] = [];
  const queries: CompiledQuery[] = [];
  const add = (query: { compile(executor: Kysely<Schema>): CompiledQuery }) => queries.push(query.compile(db));
  const { events, snapshots, users, products, orders, orderItems } = plan;
  if (events.length > 0) {
    fresh.push(sql`insert into journal (persistence_key, sequence_nr, event_type, ref, payload, created_at)
      select * from unnest(${column(events, 'persistence_key')}::text[], ${column(events, 'sequence_nr')}::int8[],
        ${column(events, 'event_type')}::text[], ${column(events, 'ref')}::text[], ${column(events, 'payload')}::text[],
        ${column(events, 'created_at')}::int8[])`.compile(db));
  }
  if (plan.outbox.length > 0) {
    const r = plan.outbox;
    fresh.push(sql`insert into outbox (position, sink, event_id, order_key, event_type, payload, created_at, shard, trace_parent)
      select * from unnest(${column(r, 'position')}::int8[], ${column(r, 'sink')}::text[], ${column(r, 'event_id')}::text[],
        ${column(r, 'order_key')}::text[], ${column(r, 'event_type')}::text[], ${column(r, 'payload')}::text[], ${column(r, 'created_at')}::int8[],
        ${column(r, 'shard')}::int4[], ${column(r, 'trace_parent')}::text[])`.compile(db));
  }
  if (snapshots.length > 0) {
    add(sql`insert into snapshots (persistence_key, sequence_nr, state, created_at)
      select * from unnest(${column(snapshots, 'persistence_key')}::text[], ${column(snapshots, 'sequence_nr')}::int8[],
        ${column(snapshots, 'state')}::text[], ${column(snapshots, 'created_at')}::int8[])`);
    add(sql`delete from snapshots s using unnest(${column(snapshots, 'persistence_key')}::text[], ${column(snapshots, 'sequence_nr')}::int8[]) v(k, n)
      where s.persistence_key = v.k and s.sequence_nr < v.n`);
  }
  if (users.inserts.length > 0) {
    const r = users.inserts;
    add(sql`insert into users (id, name, points, created_at, updated_at)
      select * from unnest(${column(r, 'id')}::text[], ${column(r, 'name')}::text[], ${column(r, 'points')}::int8[],
        ${column(r, 'created_at')}::int8[], ${column(r, 'updated_at')}::int8[])`);
  }
  if (products.inserts.length > 0) {
    const r = products.inserts;
    add(sql`insert into products (id, name, price, stock, created_at, updated_at)
      select * from unnest(${column(r, 'id')}::text[], ${column(r, 'name')}::text[], ${column(r, 'price')}::int8[],
        ${column(r, 'stock')}::int8[], ${column(r, 'created_at')}::int8[], ${column(r, 'updated_at')}::int8[])`);
  }
  if (orders.inserts.length > 0) {
    const r = orders.inserts;
    add(sql`insert into orders (id, user_id, status, total, coupon_id, discount, failure_reason, created_at, updated_at)
      select * from unnest(${column(r, 'id')}::text[], ${column(r, 'user_id')}::text[], ${column(r, 'status')}::text[],
        ${column(r, 'total')}::int8[], ${column(r, 'coupon_id')}::text[], ${column(r, 'discount')}::int8[],
        ${column(r, 'failure_reason')}::text[], ${column(r, 'created_at')}::int8[], ${column(r, 'updated_at')}::int8[])`);
  }
  if (orderItems.length > 0) {
    const r = orderItems;
    add(sql`insert into order_items (order_id, product_id, quantity, unit_price)
      select * from unnest(${column(r, 'order_id')}::text[], ${column(r, 'product_id')}::text[], ${column(r, 'quantity')}::int8[],
        ${column(r, 'unit_price')}::int8[])`);
  }
  if (plan.coupons.inserts.length > 0) {
    const r = plan.coupons.inserts;
    add(sql`insert into coupons (id, name, discount_type, discount_value, quantity, issued, valid_from, valid_until, created_at, updated_at)
      select * from unnest(${column(r, 'id')}::text[], ${column(r, 'name')}::text[], ${column(r, 'discount_type')}::text[],
        ${column(r, 'discount_value')}::int8[], ${column(r, 'quantity')}::int8[], ${column(r, 'issued')}::int8[],
        ${column(r, 'valid_from')}::int8[], ${column(r, 'valid_until')}::int8[], ${column(r, 'created_at')}::int8[],
        ${column(r, 'updated_at')}::int8[])`);
  }
  if (plan.userCoupons.length > 0) {
    const r = plan.userCoupons;
    add(sql`insert into user_coupons (user_id, coupon_id, status, order_id, issued_at, updated_at)
      select * from unnest(${column(r, 'user_id')}::text[], ${column(r, 'coupon_id')}::text[], ${column(r, 'status')}::text[],
        ${column(r, 'order_id')}::text[], ${column(r, 'issued_at')}::int8[], ${column(r, 'updated_at')}::int8[])
      on conflict (user_id, coupon_id) do update set status = excluded.status, order_id = excluded.order_id,
        issued_at = excluded.issued_at, updated_at = excluded.updated_at`);
  }
  if (plan.sales.length > 0) {
    const r = plan.sales;
    add(sql`insert into product_sales_daily (product_id, day, units)
      select * from unnest(${column(r, 'product_id')}::text[], ${column(r, 'day')}::int4[], ${column(r, 'units')}::int8[])
      on conflict (product_id, day) do update set units = product_sales_daily.units + excluded.units`);
  }
  if (users.updates.length > 0) {
    const r = users.updates;
    add(sql`update users t set points = v.points, updated_at = v.updated_at
      from unnest(${column(r, 'id')}::text[], ${column(r, 'points')}::int8[], ${column(r, 'updated_at')}::int8[]) v(id, points, updated_at)
      where t.id = v.id`);
  }
  if (products.updates.length > 0) {
    const r = products.updates;
    add(sql`update products t set stock = v.stock, updated_at = v.updated_at
      from unnest(${column(r, 'id')}::text[], ${column(r, 'stock')}::int8[], ${column(r, 'updated_at')}::int8[]) v(id, stock, updated_at)
      where t.id = v.id`);
  }
  if (orders.updates.length > 0) {
    const r = orders.updates;
    add(sql`update orders t set status = v.status, failure_reason = v.failure_reason, updated_at = v.updated_at
      from unnest(${column(r, 'id')}::text[], ${column(r, 'status')}::text[], ${column(r, 'failure_reason')}::text[],
        ${column(r, 'updated_at')}::int8[]) v(id, status, failure_reason, updated_at)
      where t.id = v.id`);
  }
  if (plan.coupons.updates.length > 0) {
    const r = plan.coupons.updates;
    add(sql`update coupons t set issued = v.issued, updated_at = v.updated_at
      from unnest(${column(r, 'id')}::text[], ${column(r, 'issued')}::int8[], ${column(r, 'updated_at')}::int8[]) v(id, issued, updated_at)
      where t.id = v.id`);
  }
  return { fresh, rest: queries };
}
