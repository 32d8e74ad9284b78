// A batch as portable SQL: multi-row INSERTs and `case id when …` UPDATEs, the same on PGlite, PostgreSQL and MySQL.

import { sql, type CompiledQuery, type Kysely, type RawBuilder } from 'kysely';
import type { DialectTraits } from '../db/dialect-traits.js';
import type { Schema } from '../db/schema.js';
import type { BatchPlan } from './batch-plan.js';

const CHUNK = 500;

function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += CHUNK) yield items.slice(i, i + CHUNK);
}

export function rowStatements(db: Kysely<Schema>, traits: DialectTraits, plan: BatchPlan): CompiledQuery[] {
  const queries: CompiledQuery[] = [];
  for (const chunk of chunks(plan.events)) queries.push(db.insertInto('journal').values(chunk).compile());
  for (const chunk of chunks(plan.snapshots)) {
    queries.push(db.insertInto('snapshots').values(chunk).compile());
    queries.push(
      db
        .deleteFrom('snapshots')
        .where((eb) => eb.or(chunk.map((r) => eb.and([eb('persistence_key', '=', r.persistence_key), eb('sequence_nr', '<', r.sequence_nr)]))))
        .compile(),
    );
  }
  for (const chunk of chunks(plan.users.inserts)) queries.push(db.insertInto('users').values(chunk).compile());
  for (const chunk of chunks(plan.products.inserts)) queries.push(db.insertInto('products').values(chunk).compile());
  for (const chunk of chunks(plan.orders.inserts)) queries.push(db.insertInto('orders').values(chunk).compile());
  for (const chunk of chunks(plan.orderItems)) queries.push(db.insertInto('order_items').values(chunk).compile());
  for (const chunk of chunks(plan.coupons.inserts)) queries.push(db.insertInto('coupons').values(chunk).compile());
  for (const chunk of chunks(plan.userCoupons)) {
    const insert = db.insertInto('user_coupons').values(chunk);
    queries.push(
      (traits.upsert === 'on-conflict'
        ? insert.onConflict((oc) =>
            oc.columns(['user_id', 'coupon_id']).doUpdateSet({
              status: sql`excluded.status`,
              order_id: sql`excluded.order_id`,
              issued_at: sql`excluded.issued_at`,
              updated_at: sql`excluded.updated_at`,
            }),
          )
        : insert.onDuplicateKeyUpdate({
            status: sql`values(status)`,
            order_id: sql`values(order_id)`,
            issued_at: sql`values(issued_at)`,
            updated_at: sql`values(updated_at)`,
          })
      ).compile(),
    );
  }
  for (const chunk of chunks(plan.outbox)) queries.push(db.insertInto('outbox').values(chunk).compile());
  for (const chunk of chunks(plan.sales)) {
    const insert = db.insertInto('product_sales_daily').values(chunk);
    queries.push(
      (traits.upsert === 'on-conflict'
        ? insert.onConflict((oc) => oc.columns(['product_id', 'day']).doUpdateSet({ units: sql`product_sales_daily.units + excluded.units` }))
        : insert.onDuplicateKeyUpdate({ units: sql`units + values(units)` })
      ).compile(),
    );
  }

  for (const rows of chunks(plan.users.updates)) {
    queries.push(
      db
        .updateTable('users')
        .set({ points: caseById(rows, (r) => sql.lit(r.points)), updated_at: caseById(rows, (r) => sql.lit(r.updated_at)) })
        .where('id', 'in', rows.map((r) => r.id))
        .compile(),
    );
  }
  for (const rows of chunks(plan.products.updates)) {
    queries.push(
      db
        .updateTable('products')
        .set({ stock: caseById(rows, (r) => sql.lit(r.stock)), updated_at: caseById(rows, (r) => sql.lit(r.updated_at)) })
        .where('id', 'in', rows.map((r) => r.id))
        .compile(),
    );
  }
  for (const rows of chunks(plan.orders.updates)) {
    queries.push(
      db
        .updateTable('orders')
        .set({
          status: caseById(rows, (r) => sql`${r.status}`),
          failure_reason: caseById(rows, (r) => (r.failure_reason === null ? sql`null` : sql`${r.failure_reason}`)),
          updated_at: caseById(rows, (r) => sql.lit(r.updated_at)),
        })
        .where('id', 'in', rows.map((r) => r.id))
        .compile(),
    );
  }
  for (const rows of chunks(plan.coupons.updates)) {
    queries.push(
      db
        .updateTable('coupons')
        .set({ issued: caseById(rows, (r) => sql.lit(r.issued)), updated_at: caseById(rows, (r) => sql.lit(r.updated_at)) })
        .where('id', 'in', rows.map((r) => r.id))
        .compile(),
    );
  }
  return queries;
}

/** `case id when … then … end`: one UPDATE sets a different value on every row. */
function caseById<R extends { id: string }>(rows: readonly R[], value: (row: R) => RawBuilder<unknown>): RawBuilder<never> {
  return sql<never>`case id ${sql.join(rows.map((r) => sql`when ${r.id} then ${value(r)}`), sql` `)} end`;
}
