// Reads DESIGN.md's invariants back from a database the engine has written (with the engine stopped or running).

import type { Kysely } from 'kysely';
import { connect } from '../../src/db/connect.js';
import type { Schema } from '../../src/db/schema.js';

export interface InvariantReport {
  readonly problems: string[];
  readonly paid: number;
  readonly statuses: Record<string, number>;
  /** How much the coupon checks had to look at: a check over zero coupons proves nothing. */
  readonly coupons: CouponCounts;
}

export interface CouponCounts {
  readonly templates: number;
  readonly issued: number;
  /** Coupons used by a paid order. */
  readonly used: number;
}

interface Totals {
  initial: number;
  added: number;
}

/**
 * Stock: initial + restocks = stock + units of paid orders, never negative. Points: initial +
 * charges = balance + totals of paid orders, never negative. No order left mid-saga. Coupons:
 * issued never above quantity, each issued to a user once, each used by at most one paid order.
 */
export async function checkInvariants(url: string): Promise<InvariantReport> {
  const { db, close } = await connect({ url, dataDir: '', poolSize: 2 });
  try {
    const problems: string[] = [];
    const events = await db
      .selectFrom('journal')
      .select(['persistence_key', 'event_type', 'payload'])
      .where('event_type', 'in', ['ProductCreated', 'Restocked', 'UserCreated', 'PointsCharged'])
      .execute();
    const supply = new Map<string, Totals>();
    for (const e of events) {
      const p = JSON.parse(e.payload) as { stock?: number; points?: number; quantity?: number; amount?: number };
      const t = supply.get(e.persistence_key) ?? { initial: 0, added: 0 };
      if (e.event_type === 'ProductCreated') t.initial = p.stock ?? 0;
      if (e.event_type === 'UserCreated') t.initial = p.points ?? 0;
      if (e.event_type === 'Restocked') t.added += p.quantity ?? 0;
      if (e.event_type === 'PointsCharged') t.added += p.amount ?? 0;
      supply.set(e.persistence_key, t);
    }
    const orders = await db.selectFrom('orders').select(['id', 'user_id', 'status', 'total']).execute();
    const items = await db.selectFrom('order_items').select(['order_id', 'product_id', 'quantity']).execute();
    const statuses: Record<string, number> = {};
    const paidOrders = new Set<string>();
    const spent = new Map<string, number>();
    for (const o of orders) {
      statuses[o.status] = (statuses[o.status] ?? 0) + 1;
      if (o.status === 'PAID') {
        paidOrders.add(o.id);
        spent.set(o.user_id, (spent.get(o.user_id) ?? 0) + Number(o.total));
      }
      if (o.status === 'PAYING' || o.status === 'CANCELLING') problems.push(`order ${o.id} left ${o.status}`);
    }
    const sold = new Map<string, number>();
    for (const i of items) if (paidOrders.has(i.order_id)) sold.set(i.product_id, (sold.get(i.product_id) ?? 0) + Number(i.quantity));

    for (const p of await db.selectFrom('products').select(['id', 'stock']).execute()) {
      const t = supply.get(`product-${p.id}`) ?? { initial: 0, added: 0 };
      const stock = Number(p.stock);
      if (stock < 0) problems.push(`product ${p.id} stock ${stock} < 0`);
      if (t.initial + t.added !== stock + (sold.get(p.id) ?? 0)) {
        problems.push(`product ${p.id}: initial ${t.initial} + restocks ${t.added} != stock ${stock} + sold ${sold.get(p.id) ?? 0}`);
      }
    }
    for (const u of await db.selectFrom('users').select(['id', 'points']).execute()) {
      const t = supply.get(`user-${u.id}`) ?? { initial: 0, added: 0 };
      const points = Number(u.points);
      if (points < 0) problems.push(`user ${u.id} points ${points} < 0`);
      if (t.initial + t.added !== points + (spent.get(u.id) ?? 0)) {
        problems.push(`user ${u.id}: initial ${t.initial} + charged ${t.added} != balance ${points} + spent ${spent.get(u.id) ?? 0}`);
      }
    }
    const coupons = await couponProblems(db);
    problems.push(...coupons.problems);
    return { problems, paid: paidOrders.size, statuses, coupons: coupons.counts };
  } finally {
    await close();
  }
}

async function couponProblems(db: Kysely<Schema>): Promise<{ problems: string[]; counts: CouponCounts }> {
  const problems: string[] = [];
  const counts = { templates: 0, issued: 0, used: 0 };
  const held = new Map<string, number>();
  for (const c of await db.selectFrom('user_coupons').select(['user_id', 'coupon_id', 'status', 'order_id']).execute()) {
    if (c.status === 'CLAIMING') problems.push(`claim of coupon ${c.coupon_id} by user ${c.user_id} left CLAIMING`);
    if (c.status === 'ISSUED' || c.status === 'USED') held.set(c.coupon_id, (held.get(c.coupon_id) ?? 0) + 1);
  }
  for (const c of await db.selectFrom('coupons').select(['id', 'quantity', 'issued']).execute()) {
    const issued = Number(c.issued);
    counts.templates++;
    counts.issued += issued;
    if (issued > Number(c.quantity)) problems.push(`coupon ${c.id}: issued ${issued} > quantity ${c.quantity}`);
    if (issued !== (held.get(c.id) ?? 0)) problems.push(`coupon ${c.id}: issued ${issued} but ${held.get(c.id) ?? 0} users hold it`);
  }
  const uses = await db
    .selectFrom('orders')
    .select(['user_id', 'coupon_id', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('coupon_id', 'is not', null)
    .where('status', 'in', ['PAID', 'CANCELLING'])
    .groupBy(['user_id', 'coupon_id'])
    .execute();
  for (const u of uses) {
    counts.used++;
    if (Number(u.n) > 1) problems.push(`coupon ${u.coupon_id} used by ${u.n} paid orders of user ${u.user_id}`);
  }
  return { problems, counts };
}
