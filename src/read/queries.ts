// Read-side queries over the read-model tables, keyset-paginated, only the columns each list needs.

import type { ExpressionBuilder, Kysely } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { DiscountType } from '../../actors/coupon/index.js';
import type { OrderItem, OrderStatus, OrderView } from '../../actors/order/index.js';
import type { ProductView } from '../../actors/product/index.js';
import type { UserView } from '../../actors/user/index.js';
import type { DbTraits } from '../db/connect.js';
import type { OrdersTable, Schema } from '../db/schema.js';
import { encodeCursor, idCursor, timeCursor } from './cursor.js';

export { BadCursorError } from './cursor.js';

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** A coupon a user holds or has used. */
export interface HeldCouponView {
  readonly couponId: string;
  readonly name: string;
  readonly discountType: DiscountType;
  readonly discountValue: number;
  readonly validFrom: number | null;
  readonly validUntil: number | null;
  readonly status: 'ISSUED' | 'USED';
  readonly orderId: string | null;
  readonly issuedAt: number;
}

export interface PopularProduct {
  readonly id: string;
  readonly name: string;
  readonly unitsSold: number;
}

const DAY_MS = 86_400_000;

/** An order row, with its items when the query folded them in (`json_agg`). */
type OrderRow = OrdersTable & { readonly items?: OrderItem[] };

/**
 * ```ts
 * const reads = new ReadQueries(database.reads, database.traits);
 * const page = await reads.userOrders({ userId: 'u1', limit: 10 });
 * ```
 */
export class ReadQueries {
  /**
   * `traits.jsonAgg`: lists of orders bring their items in the same query, one JSON array per
   * order read through order_items' primary key; otherwise a second query fetches them.
   */
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly traits: Pick<DbTraits, 'jsonAgg'> = { jsonAgg: false },
  ) {}

  // Each list has a `…Query` builder beside it, so that tests can EXPLAIN the very query it runs.

  usersQuery(opts: { cursor?: string; limit: number; name?: string }) {
    const after = idCursor(opts.cursor);
    let q = this.db.selectFrom('users').select(['id', 'name', 'points']).orderBy('id').limit(opts.limit + 1);
    if (opts.name !== undefined) q = q.where('name', '=', opts.name);
    if (after !== undefined) q = q.where('id', '>', after);
    return q;
  }

  async listUsers(opts: { cursor?: string; limit: number; name?: string }): Promise<Page<UserView>> {
    const rows = await this.usersQuery(opts).execute();
    return pageById(rows.map((r) => ({ id: r.id, name: r.name, points: Number(r.points) })), opts.limit);
  }

  productsQuery(opts: { cursor?: string; limit: number; name?: string }) {
    const after = idCursor(opts.cursor);
    let q = this.db.selectFrom('products').select(['id', 'name', 'price', 'stock']).orderBy('id').limit(opts.limit + 1);
    if (opts.name !== undefined) q = q.where('name', '=', opts.name);
    if (after !== undefined) q = q.where('id', '>', after);
    return q;
  }

  async listProducts(opts: { cursor?: string; limit: number; name?: string }): Promise<Page<ProductView>> {
    const rows = await this.productsQuery(opts).execute();
    return pageById(
      rows.map((r) => ({ id: r.id, name: r.name, price: Number(r.price), stock: Number(r.stock) })),
      opts.limit,
    );
  }

  /** Best sellers by units paid (less cancelled) on orders created within the last `days` days. */
  async popularProducts(opts: { days: number; limit: number; now: number }): Promise<Page<PopularProduct>> {
    const rows = await this.popularQuery(opts).execute();
    return { items: rows.map((r) => ({ id: r.id, name: r.name, unitsSold: Number(r.units_sold) })), nextCursor: null };
  }

  popularQuery(opts: { days: number; limit: number; now: number }) {
    const fromDay = Math.floor(opts.now / DAY_MS) - opts.days + 1;
    return this.db
      .selectFrom('product_sales_daily as s')
      .innerJoin('products as p', 'p.id', 's.product_id')
      .select((eb) => ['p.id', 'p.name', eb.fn.sum<number | string>('s.units').as('units_sold')])
      .where('s.day', '>=', fromDay)
      .groupBy(['p.id', 'p.name'])
      .having((eb) => eb.fn.sum('s.units'), '>', 0)
      .orderBy('units_sold', 'desc')
      .orderBy('p.id')
      .limit(opts.limit);
  }

  async ordersByIds(ids: readonly string[]): Promise<Page<OrderView>> {
    if (ids.length === 0) return { items: [], nextCursor: null };
    const rows: OrderRow[] = await this.ordersByIdsQuery(ids).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const ordered = ids.map((id) => byId.get(id)).filter((r): r is OrderRow => r !== undefined);
    return { items: await this.withItems(ordered), nextCursor: null };
  }

  ordersByIdsQuery(ids: readonly string[]) {
    return this.db.selectFrom('orders').selectAll().$if(this.traits.jsonAgg, (q) => q.select(itemsColumn)).where('id', 'in', [...ids]);
  }

  /** Orders of one status created within the last `days`, newest first. */
  async ordersByStatus(opts: { status: OrderStatus; days: number; cursor?: string; limit: number; now: number }): Promise<Page<OrderView>> {
    return this.pageByTime(await this.ordersByStatusQuery(opts).execute(), opts.limit);
  }

  ordersByStatusQuery(opts: { status: OrderStatus; days: number; cursor?: string; limit: number; now: number }) {
    const after = timeCursor(opts.cursor);
    let q = this.db
      .selectFrom('orders')
      .selectAll()
      .$if(this.traits.jsonAgg, (q) => q.select(itemsColumn))
      .where('status', '=', opts.status)
      .where('created_at', '>=', opts.now - opts.days * DAY_MS)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(opts.limit + 1);
    if (after) q = q.where((eb) => eb.or([eb('created_at', '<', after[0]), eb.and([eb('created_at', '=', after[0]), eb('id', '<', after[1])])]));
    return q;
  }

  /** One user's orders, newest first. */
  async userOrders(opts: { userId: string; cursor?: string; limit: number }): Promise<Page<OrderView>> {
    return this.pageByTime(await this.userOrdersQuery(opts).execute(), opts.limit);
  }

  userOrdersQuery(opts: { userId: string; cursor?: string; limit: number }) {
    const after = timeCursor(opts.cursor);
    let q = this.db
      .selectFrom('orders')
      .selectAll()
      .$if(this.traits.jsonAgg, (q) => q.select(itemsColumn))
      .where('user_id', '=', opts.userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(opts.limit + 1);
    if (after) q = q.where((eb) => eb.or([eb('created_at', '<', after[0]), eb.and([eb('created_at', '=', after[0]), eb('id', '<', after[1])])]));
    return q;
  }

  /** The coupons a user holds or has used, by coupon id; claims under way or failed are left out. */
  async userCoupons(opts: { userId: string; cursor?: string; limit: number }): Promise<Page<HeldCouponView>> {
    const rows = await this.userCouponsQuery(opts).execute();
    const items = rows.map((r) => ({
      id: r.coupon_id,
      couponId: r.coupon_id,
      name: r.name,
      discountType: r.discount_type as DiscountType,
      discountValue: Number(r.discount_value),
      validFrom: r.valid_from === null ? null : Number(r.valid_from),
      validUntil: r.valid_until === null ? null : Number(r.valid_until),
      status: r.status as 'ISSUED' | 'USED',
      orderId: r.order_id,
      issuedAt: Number(r.issued_at),
    }));
    const page = pageById(items, opts.limit);
    return { items: page.items.map(({ id: _id, ...held }) => held), nextCursor: page.nextCursor };
  }

  userCouponsQuery(opts: { userId: string; cursor?: string; limit: number }) {
    const after = idCursor(opts.cursor);
    let q = this.db
      .selectFrom('user_coupons as uc')
      .innerJoin('coupons as c', 'c.id', 'uc.coupon_id')
      .select(['uc.coupon_id', 'uc.status', 'uc.order_id', 'uc.issued_at', 'c.name', 'c.discount_type', 'c.discount_value', 'c.valid_from', 'c.valid_until'])
      .where('uc.user_id', '=', opts.userId)
      .where('uc.status', 'in', ['ISSUED', 'USED'])
      .orderBy('uc.coupon_id')
      .limit(opts.limit + 1);
    if (after !== undefined) q = q.where('uc.coupon_id', '>', after);
    return q;
  }

  /** Where a user stands with one coupon: ISSUED, USED, CLAIMING, FAILED, or undefined when never claimed. */
  async userCouponStatus(userId: string, couponId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('user_coupons')
      .select('status')
      .where('user_id', '=', userId)
      .where('coupon_id', '=', couponId)
      .executeTakeFirst();
    return row?.status;
  }

  private async pageByTime(rows: OrderRow[], limit: number): Promise<Page<OrderView>> {
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: await this.withItems(page), nextCursor: more && last ? encodeCursor([Number(last.created_at), last.id]) : null };
  }

  private async withItems(rows: readonly OrderRow[]): Promise<OrderView[]> {
    if (rows.length === 0) return [];
    if (this.traits.jsonAgg) return rows.map((r) => orderView(r, r.items ?? []));
    const items = await this.db
      .selectFrom('order_items')
      .select(['order_id', 'product_id', 'quantity', 'unit_price'])
      .where('order_id', 'in', rows.map((r) => r.id))
      .execute();
    const byOrder = new Map<string, OrderItem[]>();
    for (const i of items) {
      const list = byOrder.get(i.order_id) ?? [];
      list.push({ productId: i.product_id, quantity: Number(i.quantity), unitPrice: Number(i.unit_price) });
      byOrder.set(i.order_id, list);
    }
    return rows.map((r) => orderView(r, byOrder.get(r.id) ?? []));
  }
}

/**
 * The order's items as one JSON array column (`json_agg`), read through order_items' primary
 * key and ordered by product id, as the second query gets them.
 */
function itemsColumn(eb: ExpressionBuilder<Schema, 'orders'>) {
  return jsonArrayFrom(
    eb
      .selectFrom('order_items as i')
      .select(['i.product_id as productId', 'i.quantity', 'i.unit_price as unitPrice'])
      .whereRef('i.order_id', '=', 'orders.id')
      .orderBy('i.product_id'),
  ).as('items');
}

function orderView(r: OrdersTable, items: OrderItem[]): OrderView {
  return {
    id: r.id,
    userId: r.user_id,
    status: (r.status === 'CANCELLING' ? 'PAID' : r.status) as OrderStatus,
    items,
    total: Number(r.total),
    couponId: r.coupon_id,
    discount: Number(r.discount),
    failureReason: r.failure_reason,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function pageById<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const more = rows.length > limit;
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: more && last ? encodeCursor(last.id) : null };
}
