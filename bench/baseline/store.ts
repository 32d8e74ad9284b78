// What a baseline store offers the baseline server, and the shapes it answers with (those of the engine's API).
//
// The reads are plain SQL over the tables, with the indexes a tuned service has, and no cache.

import { encodeCursor, type TimeKey } from '../../src/read/cursor.js';

// Cursors as the engine makes them, so that a client pages every side alike.
export { BadCursorError, idCursor, timeCursor, type TimeKey } from '../../src/read/cursor.js';

export type Mode = 'locks' | 'sql';

export interface UserRow {
  readonly id: string;
  readonly name: string;
  readonly points: number;
}

export interface ProductRow {
  readonly id: string;
  readonly name: string;
  readonly price: number;
  readonly stock: number;
}

export interface OrderItemView {
  readonly productId: string;
  readonly quantity: number;
  readonly unitPrice: number;
}

export interface OrderView {
  readonly id: string;
  readonly userId: string;
  readonly status: 'CREATED' | 'PAID' | 'FAILED';
  readonly items: readonly OrderItemView[];
  readonly total: number;
  /** The baselines' orders carry no coupon: always null and 0, as the engine answers for such an order. */
  readonly couponId: null;
  readonly discount: number;
  readonly failureReason: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export type DiscountType = 'FIXED' | 'PERCENT';

export interface CouponView {
  readonly id: string;
  readonly name: string;
  readonly discountType: DiscountType;
  readonly discountValue: number;
  readonly quantity: number;
  readonly issued: number;
  /** ISO 8601, as the engine answers. */
  readonly validFrom: string | null;
  readonly validUntil: string | null;
}

export interface NewCoupon {
  readonly name: string;
  readonly discountType: DiscountType;
  readonly discountValue: number;
  readonly quantity: number;
  /** Epoch milliseconds. */
  readonly validFrom: number | null;
  readonly validUntil: number | null;
}

export interface HeldCouponView {
  readonly couponId: string;
  readonly name: string;
  readonly discountType: DiscountType;
  readonly discountValue: number;
  readonly validFrom: string | null;
  readonly validUntil: string | null;
  readonly status: 'ISSUED' | 'USED';
  readonly orderId: string | null;
  readonly issuedAt: number;
}

export interface PopularProduct {
  readonly id: string;
  readonly name: string;
  readonly unitsSold: number;
}

/** Every list answers a page; `nextCursor` is null on the last one. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

export type ErrorCode =
  | 'NOT_FOUND'
  | 'INVALID_ORDER'
  | 'INSUFFICIENT_STOCK'
  | 'INSUFFICIENT_POINTS'
  | 'ORDER_NOT_PAYABLE'
  | 'COUPON_SOLD_OUT'
  | 'COUPON_ALREADY_ISSUED';

export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ErrorCode; readonly message: string; readonly productId?: string };

export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const fail = <T>(error: ErrorCode, message: string, productId?: string): Outcome<T> =>
  productId === undefined ? { ok: false, error, message } : { ok: false, error, message, productId };

export interface NewItem {
  readonly productId: string;
  readonly quantity: number;
}

export interface Store {
  createUser(id: string, name: string, points: number): Promise<UserRow>;
  getUser(id: string): Promise<UserRow | undefined>;
  createProduct(id: string, name: string, price: number, stock: number): Promise<ProductRow>;
  getProduct(id: string): Promise<ProductRow | undefined>;
  /** Captures each product's price; the user and every product must exist. */
  createOrder(id: string, userId: string, items: readonly NewItem[], now: number): Promise<Outcome<OrderView>>;
  getOrder(id: string): Promise<OrderView | undefined>;
  /** Reserves stock, debits points and marks the order paid, all or nothing, as the mode says. */
  payOrder(id: string, now: number): Promise<Outcome<OrderView>>;
  /** Keyset pages by id; `name` is an exact match on its index. */
  listUsers(opts: ListQuery<string> & { readonly name?: string }): Promise<Page<UserRow>>;
  listProducts(opts: ListQuery<string> & { readonly name?: string }): Promise<Page<ProductRow>>;
  /** A user's orders, newest first. */
  userOrders(opts: ListQuery<TimeKey> & { readonly userId: string }): Promise<Page<OrderView>>;
  /** Orders of one status created since `since` (epoch ms), newest first. */
  ordersByStatus(opts: ListQuery<TimeKey> & { readonly status: string; readonly since: number }): Promise<Page<OrderView>>;
  /** The orders found, in the order of `ids`. */
  ordersByIds(ids: readonly string[]): Promise<Page<OrderView>>;
  /** Units of paid orders created since `since`, per product, most first: a GROUP BY over the orders, as the original service did. */
  popularProducts(opts: { readonly since: number; readonly limit: number }): Promise<Page<PopularProduct>>;
  createCoupon(id: string, coupon: NewCoupon, now: number): Promise<CouponView>;
  /** First come, first served: a conditional UPDATE of the issued count, once per user. */
  issueCoupon(couponId: string, userId: string, now: number): Promise<Outcome<{ couponId: string; userId: string; status: 'ISSUED' }>>;
  /** The coupons a user holds or has used, by coupon id; NOT_FOUND for an unknown user. */
  userCoupons(opts: ListQuery<string> & { readonly userId: string }): Promise<Outcome<Page<HeldCouponView>>>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** A keyset page request: `after` is the decoded cursor, the last row's id or [createdAt, id]. */
export interface ListQuery<K> {
  readonly after?: K;
  readonly limit: number;
}
/** The first `limit` rows, and a cursor from the last of them when there were more. */
export function pageOf<T>(rows: readonly T[], limit: number, key: (row: T) => string | TimeKey): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(key(last)) : null };
}

export const iso = (ms: unknown): string | null => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());

/** A raw coupon row (either database) as the API's coupon. */
export const couponView = (row: {
  id: string;
  name: string;
  discount_type: string;
  discount_value: unknown;
  quantity: unknown;
  issued: unknown;
  valid_from: unknown;
  valid_until: unknown;
}): CouponView => ({
  id: row.id,
  name: row.name,
  discountType: row.discount_type as DiscountType,
  discountValue: Number(row.discount_value),
  quantity: Number(row.quantity),
  issued: Number(row.issued),
  validFrom: iso(row.valid_from),
  validUntil: iso(row.valid_until),
});

/** A raw held-coupon row (user_coupons joined with coupons) as the API's item. */
export const heldCouponView = (row: {
  coupon_id: string;
  name: string;
  discount_type: string;
  discount_value: unknown;
  valid_from: unknown;
  valid_until: unknown;
  status: string;
  order_id: string | null;
  issued_at: unknown;
}): HeldCouponView => ({
  couponId: row.coupon_id,
  name: row.name,
  discountType: row.discount_type as DiscountType,
  discountValue: Number(row.discount_value),
  validFrom: iso(row.valid_from),
  validUntil: iso(row.valid_until),
  status: row.status as 'ISSUED' | 'USED',
  orderId: row.order_id,
  issuedAt: Number(row.issued_at),
});

/** A page of orders by time, newest first: the items are read only for the rows shown. */
export async function orderPage<R>(rows: readonly R[], limit: number, withItems: (rows: readonly R[]) => Promise<OrderView[]>): Promise<Page<OrderView>> {
  const items = await withItems(rows.slice(0, limit));
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor([last.createdAt, last.id]) : null };
}

/** Thrown inside a transaction to roll it back and answer `outcome`. */
export class Refusal<T> extends Error {
  constructor(readonly outcome: Outcome<T>) {
    super('refused');
  }
}

/** Runs `work`; a Refusal it throws (after its transaction rolled back) becomes its outcome. */
export async function refusing<T>(work: () => Promise<Outcome<T>>): Promise<Outcome<T>> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof Refusal) return error.outcome as Outcome<T>;
    throw error;
  }
}

/** The start of the day `days - 1` days before `now` (UTC): the engine counts sales per day of the order's creation. */
export const DAY_MS = 86_400_000;
export const sinceDays = (days: number, now: number) => (Math.floor(now / DAY_MS) - days + 1) * DAY_MS;

/** Raw order rows and all their item rows (either database) as the API's orders, in the rows' order. */
export function ordersWithItems(
  orders: ReadonlyArray<Parameters<typeof orderView>[0]>,
  items: ReadonlyArray<{ order_id: string; product_id: string; quantity: unknown; unit_price: unknown }>,
): OrderView[] {
  const byOrder = new Map<string, OrderItemView[]>();
  for (const i of items) {
    const list = byOrder.get(i.order_id) ?? [];
    list.push(itemView(i));
    byOrder.set(i.order_id, list);
  }
  return orders.map((o) => orderView(o, byOrder.get(o.id) ?? []));
}

/** A raw item row (either database) as the API's item. */
export const itemView = (row: { product_id: string; quantity: unknown; unit_price: unknown }): OrderItemView => ({
  productId: row.product_id,
  quantity: Number(row.quantity),
  unitPrice: Number(row.unit_price),
});

/** Raw order and item rows (either database) as the API's order. */
export function orderView(
  order: { id: string; user_id: string; status: string; total: unknown; failure_reason: string | null; created_at: unknown; updated_at: unknown },
  items: readonly OrderItemView[],
): OrderView {
  return {
    id: order.id,
    userId: order.user_id,
    status: order.status as OrderView['status'],
    items,
    total: Number(order.total),
    couponId: null,
    discount: 0,
    failureReason: order.failure_reason,
    createdAt: Number(order.created_at),
    updatedAt: Number(order.updated_at),
  };
}

/** Deadlocks and serialization failures are retried a few times, as a Spring @Retryable would. */
export async function retrying<T>(isRetryable: (error: unknown) => boolean, work: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
    }
  }
}

/**
 * The store with a count of calls in flight, so that shutdown can wait for them: the HTTP
 * server closes as soon as the load generator hangs up, while payments may still be running.
 */
export function tracked(store: Store): Store & { idle(): Promise<void> } {
  let inFlight = 0;
  const wrapped = Object.fromEntries(
    Object.entries(store).map(([name, method]) => [
      name,
      async (...args: unknown[]) => {
        inFlight++;
        try {
          return await (method as (...a: unknown[]) => Promise<unknown>)(...args);
        } finally {
          inFlight--;
        }
      },
    ]),
  ) as unknown as Store;
  return {
    ...wrapped,
    async idle() {
      const deadline = Date.now() + 10_000;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    },
  };
}
