// Read-side queries over the read-model tables, keyset-paginated, only the columns each list needs.

import type { ExpressionBuilder, Kysely } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { DiscountType } from '../../actors/coupon/index.js';
import type { OrderItem, OrderStatus, OrderView } from '../../actors/order/index.js';
import type { ProductView } from '../../actors/product/index.js';
import type { UserView } from '../../actors/user/index.js';
import type { DialectTraits } from '../db/dialect-traits.js';
import type { OrdersTable, Schema } from '../db/schema.js';
import { encodeCursor, idCursor, timeCursor, type TimeKey } from './cursor.js';
import { QueryShapes } from './query-shapes.js';

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

type ListOpts = { cursor?: string; limit: number; name?: string };
type UserListOpts = { userId: string; cursor?: string; limit: number };
type PopularOpts = { days: number; limit: number; now: number };
type ByStatusOpts = { status: OrderStatus; days: number; cursor?: string; limit: number; now: number };

// The values each query is built from: cursors decoded, bounds computed, one more row than the page.
type ByIdValues = { name: string | undefined; after: string | undefined; limit: number };
const byIdValues = (o: ListOpts): ByIdValues => ({ name: o.name, after: idCursor(o.cursor), limit: o.limit + 1 });
const byIdShape = (v: ByIdValues) => `name=${v.name !== undefined} after=${v.after !== undefined}`;
const popularValues = (o: PopularOpts) => ({ fromDay: Math.floor(o.now / DAY_MS) - o.days + 1, limit: o.limit });
type ByStatusValues = { status: OrderStatus; since: number; after: TimeKey | undefined; limit: number };
const byStatusValues = (o: ByStatusOpts): ByStatusValues => ({ status: o.status, since: o.now - o.days * DAY_MS, after: timeCursor(o.cursor), limit: o.limit + 1 });
type UserOrdersValues = { userId: string; after: TimeKey | undefined; limit: number };
const userOrdersValues = (o: UserListOpts): UserOrdersValues => ({ userId: o.userId, after: timeCursor(o.cursor), limit: o.limit + 1 });
type UserCouponsValues = { userId: string; after: string | undefined; limit: number };
const userCouponsValues = (o: UserListOpts): UserCouponsValues => ({ userId: o.userId, after: idCursor(o.cursor), limit: o.limit + 1 });

/** Rows after `key` in newest-first order: created earlier, or at the same time with a smaller id. */
const before = (eb: ExpressionBuilder<Schema, 'orders'>, key: TimeKey) =>
  eb.or([eb('created_at', '<', key[0]), eb.and([eb('created_at', '=', key[0]), eb('id', '<', key[1])])]);

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
    private readonly traits: Pick<DialectTraits, 'jsonAgg'> = { jsonAgg: false },
  ) {
    this.shapes = new QueryShapes(db);
  }

  private readonly shapes: QueryShapes<Schema>;

  // Each list has a `…Query` builder beside it, so that tests can EXPLAIN the very query it runs.
  // The builders take the query's values (`…Values`) so that a shape is compiled once and then
  // only bound (QueryShapes); nothing in a builder computes with a value.

  usersQuery(opts: ListOpts) {
    return this.usersFrom(byIdValues(opts));
  }

  private usersFrom(v: ByIdValues) {
    return this.db
      .selectFrom('users')
      .select(['id', 'name', 'points'])
      .$if(v.name !== undefined, (q) => q.where('name', '=', v.name as string))
      .$if(v.after !== undefined, (q) => q.where('id', '>', v.after as string))
      .orderBy('id')
      .limit(v.limit);
  }

  async listUsers(opts: ListOpts): Promise<Page<UserView>> {
    const v = byIdValues(opts);
    const rows = await this.shapes.execute(`users ${byIdShape(v)}`, v, (s) => this.usersFrom(s));
    return pageById(rows.map((r) => ({ id: r.id, name: r.name, points: Number(r.points) })), opts.limit);
  }

  productsQuery(opts: ListOpts) {
    return this.productsFrom(byIdValues(opts));
  }

  private productsFrom(v: ByIdValues) {
    return this.db
      .selectFrom('products')
      .select(['id', 'name', 'price', 'stock'])
      .$if(v.name !== undefined, (q) => q.where('name', '=', v.name as string))
      .$if(v.after !== undefined, (q) => q.where('id', '>', v.after as string))
      .orderBy('id')
      .limit(v.limit);
  }

  async listProducts(opts: ListOpts): Promise<Page<ProductView>> {
    const v = byIdValues(opts);
    const rows = await this.shapes.execute(`products ${byIdShape(v)}`, v, (s) => this.productsFrom(s));
    return pageById(
      rows.map((r) => ({ id: r.id, name: r.name, price: Number(r.price), stock: Number(r.stock) })),
      opts.limit,
    );
  }

  /** Best sellers by units paid (less cancelled) on orders created within the last `days` days. */
  async popularProducts(opts: PopularOpts): Promise<Page<PopularProduct>> {
    const v = popularValues(opts);
    const rows = await this.shapes.execute('popular', v, (s) => this.popularFrom(s));
    return { items: rows.map((r) => ({ id: r.id, name: r.name, unitsSold: Number(r.units_sold) })), nextCursor: null };
  }

  popularQuery(opts: PopularOpts) {
    return this.popularFrom(popularValues(opts));
  }

  private popularFrom(v: { fromDay: number; limit: number }) {
    return this.db
      .selectFrom('product_sales_daily as s')
      .innerJoin('products as p', 'p.id', 's.product_id')
      .select((eb) => ['p.id', 'p.name', eb.fn.sum<number | string>('s.units').as('units_sold')])
      .where('s.day', '>=', v.fromDay)
      .groupBy(['p.id', 'p.name'])
      .having((eb) => eb.fn.sum('s.units'), '>', 0)
      .orderBy('units_sold', 'desc')
      .orderBy('p.id')
      .limit(v.limit);
  }

  async ordersByIds(ids: readonly string[]): Promise<Page<OrderView>> {
    if (ids.length === 0) return { items: [], nextCursor: null };
    const v = { ids };
    const rows: OrderRow[] = await this.shapes.execute(`orders by ${ids.length} ids`, v, (s) => this.ordersByIdsFrom(s));
    const byId = new Map(rows.map((r) => [r.id, r]));
    const ordered = ids.map((id) => byId.get(id)).filter((r): r is OrderRow => r !== undefined);
    return { items: await this.withItems(ordered), nextCursor: null };
  }

  ordersByIdsQuery(ids: readonly string[]) {
    return this.ordersByIdsFrom({ ids });
  }

  private ordersByIdsFrom(v: { ids: readonly string[] }) {
    return this.db
      .selectFrom('orders')
      .selectAll()
      .$if(this.traits.jsonAgg, (q) => q.select(itemsColumn))
      .where('id', 'in', v.ids);
  }

  /** Orders of one status created within the last `days`, newest first. */
  async ordersByStatus(opts: ByStatusOpts): Promise<Page<OrderView>> {
    const v = byStatusValues(opts);
    const rows = await this.shapes.execute(`orders by status after=${v.after !== undefined}`, v, (s) => this.ordersByStatusFrom(s));
    return this.pageByTime(rows, opts.limit);
  }

  ordersByStatusQuery(opts: ByStatusOpts) {
    return this.ordersByStatusFrom(byStatusValues(opts));
  }

  private ordersByStatusFrom(v: ByStatusValues) {
    return this.db
      .selectFrom('orders')
      .selectAll()
      .$if(this.traits.jsonAgg, (q) => q.select(itemsColumn))
      .where('status', '=', v.status)
      .where('created_at', '>=', v.since)
      .$if(v.after !== undefined, (q) => q.where((eb) => before(eb, v.after as TimeKey)))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(v.limit);
  }

  /** One user's orders, newest first. */
  async userOrders(opts: UserListOpts): Promise<Page<OrderView>> {
    const v = userOrdersValues(opts);
    const rows = await this.shapes.execute(`orders of a user after=${v.after !== undefined}`, v, (s) => this.userOrdersFrom(s));
    return this.pageByTime(rows, opts.limit);
  }

  userOrdersQuery(opts: UserListOpts) {
    return this.userOrdersFrom(userOrdersValues(opts));
  }

  private userOrdersFrom(v: UserOrdersValues) {
    return this.db
      .selectFrom('orders')
      .selectAll()
      .$if(this.traits.jsonAgg, (q) => q.select(itemsColumn))
      .where('user_id', '=', v.userId)
      .$if(v.after !== undefined, (q) => q.where((eb) => before(eb, v.after as TimeKey)))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(v.limit);
  }

  /** The coupons a user holds or has used, by coupon id; claims under way or failed are left out. */
  async userCoupons(opts: UserListOpts): Promise<Page<HeldCouponView>> {
    const v = userCouponsValues(opts);
    const rows = await this.shapes.execute(`coupons of a user after=${v.after !== undefined}`, v, (s) => this.userCouponsFrom(s));
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

  userCouponsQuery(opts: UserListOpts) {
    return this.userCouponsFrom(userCouponsValues(opts));
  }

  private userCouponsFrom(v: UserCouponsValues) {
    return this.db
      .selectFrom('user_coupons as uc')
      .innerJoin('coupons as c', 'c.id', 'uc.coupon_id')
      .select(['uc.coupon_id', 'uc.status', 'uc.order_id', 'uc.issued_at', 'c.name', 'c.discount_type', 'c.discount_value', 'c.valid_from', 'c.valid_until'])
      .where('uc.user_id', '=', v.userId)
      .where('uc.status', 'in', ['ISSUED', 'USED'])
      .$if(v.after !== undefined, (q) => q.where('uc.coupon_id', '>', v.after as string))
      .orderBy('uc.coupon_id')
      .limit(v.limit);
  }

  /** Where a user stands with one coupon: ISSUED, USED, CLAIMING, FAILED, or undefined when never claimed. */
  async userCouponStatus(userId: string, couponId: string): Promise<string | undefined> {
    const [row] = await this.shapes.execute('coupon status', { userId, couponId }, (v) =>
      this.db.selectFrom('user_coupons').select('status').where('user_id', '=', v.userId).where('coupon_id', '=', v.couponId),
    );
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
