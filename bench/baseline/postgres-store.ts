// The baseline on PostgreSQL: plain tables, and a payment either with row locks (locks) or in one stored function call (sql).

import postgres from 'postgres';
import {
  couponView,
  fail,
  heldCouponView,
  itemView,
  ok,
  orderPage,
  ordersWithItems,
  orderView,
  pageOf,
  Refusal,
  refusing,
  retrying,
  type Mode,
  type NewItem,
  type OrderView,
  type Outcome,
  type PopularProduct,
  type ProductRow,
  type Store,
  type UserRow,
} from './store.js';

const INT8_OID = 20;

// The indexes are those of a tuned service for its reads (and the engine's read model has the same).
const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (id varchar(64) PRIMARY KEY, name varchar(200) NOT NULL, points bigint NOT NULL);
CREATE INDEX IF NOT EXISTS users_name_idx ON users (name);
CREATE TABLE IF NOT EXISTS products (id varchar(64) PRIMARY KEY, name varchar(200) NOT NULL, price bigint NOT NULL, stock bigint NOT NULL);
CREATE INDEX IF NOT EXISTS products_name_idx ON products (name);
CREATE TABLE IF NOT EXISTS orders (
  id varchar(64) PRIMARY KEY, user_id varchar(64) NOT NULL, status varchar(16) NOT NULL, total bigint NOT NULL,
  failure_reason varchar(40), created_at bigint NOT NULL, updated_at bigint NOT NULL);
CREATE INDEX IF NOT EXISTS orders_user_created_idx ON orders (user_id, created_at, id);
CREATE INDEX IF NOT EXISTS orders_status_created_idx ON orders (status, created_at, id);
CREATE TABLE IF NOT EXISTS order_items (
  order_id varchar(64) NOT NULL, product_id varchar(64) NOT NULL, quantity bigint NOT NULL, unit_price bigint NOT NULL,
  PRIMARY KEY (order_id, product_id));
CREATE TABLE IF NOT EXISTS outbox (
  id bigserial PRIMARY KEY, order_id varchar(64) NOT NULL, event_type varchar(40) NOT NULL, payload text NOT NULL, created_at bigint NOT NULL);
CREATE TABLE IF NOT EXISTS coupons (
  id varchar(64) PRIMARY KEY, name varchar(200) NOT NULL, discount_type varchar(16) NOT NULL, discount_value bigint NOT NULL,
  quantity bigint NOT NULL, issued bigint NOT NULL, valid_from bigint, valid_until bigint, created_at bigint NOT NULL);
CREATE TABLE IF NOT EXISTS user_coupons (
  user_id varchar(64) NOT NULL, coupon_id varchar(64) NOT NULL, status varchar(16) NOT NULL, order_id varchar(64),
  issued_at bigint NOT NULL, PRIMARY KEY (user_id, coupon_id));
`;

/**
 * The payment as one call: lock the products in id order (so two multi-item payments cannot
 * deadlock), take the stock with a conditional UPDATE … WHERE stock >= quantity, debit the
 * points with a conditional UPDATE, undo what was taken when either falls short. Answers the
 * order, or the error, as JSON, so the server needs no second round trip.
 */
const PAY_FUNCTION = `
CREATE OR REPLACE FUNCTION bench_pay(p_id varchar, p_now bigint) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
  o orders%ROWTYPE;
  n_items int;
  taken varchar[];
  short_id varchar;
BEGIN
  SELECT * INTO o FROM orders WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN json_build_object('error', 'NOT_FOUND');
  END IF;
  IF o.status = 'CREATED' THEN
    PERFORM 1 FROM products p JOIN order_items i ON i.product_id = p.id WHERE i.order_id = p_id ORDER BY p.id FOR UPDATE OF p;
    SELECT count(*) INTO n_items FROM order_items WHERE order_id = p_id;
    WITH t AS (
      UPDATE products p SET stock = p.stock - i.quantity FROM order_items i
      WHERE i.order_id = p_id AND p.id = i.product_id AND p.stock >= i.quantity RETURNING p.id)
    SELECT coalesce(array_agg(id), '{}') INTO taken FROM t;
    IF cardinality(taken) < n_items THEN
      UPDATE products p SET stock = p.stock + i.quantity FROM order_items i
      WHERE i.order_id = p_id AND p.id = i.product_id AND p.id = ANY (taken);
      SELECT min(product_id) INTO short_id FROM order_items WHERE order_id = p_id AND NOT (product_id = ANY (taken));
      UPDATE orders SET status = 'FAILED', failure_reason = 'INSUFFICIENT_STOCK', updated_at = p_now WHERE id = p_id;
      RETURN json_build_object('error', 'INSUFFICIENT_STOCK', 'productId', short_id);
    END IF;
    UPDATE users SET points = points - o.total WHERE id = o.user_id AND points >= o.total;
    IF NOT FOUND THEN
      UPDATE products p SET stock = p.stock + i.quantity FROM order_items i WHERE i.order_id = p_id AND p.id = i.product_id;
      UPDATE orders SET status = 'FAILED', failure_reason = 'INSUFFICIENT_POINTS', updated_at = p_now WHERE id = p_id;
      RETURN json_build_object('error', 'INSUFFICIENT_POINTS');
    END IF;
    UPDATE orders SET status = 'PAID', updated_at = p_now WHERE id = p_id;
    INSERT INTO outbox (order_id, event_type, payload, created_at)
    VALUES (p_id, 'OrderPaid', json_build_object('orderId', p_id, 'userId', o.user_id, 'total', o.total)::text, p_now);
    o.status := 'PAID';
    o.updated_at := p_now;
  ELSIF o.status <> 'PAID' THEN
    RETURN json_build_object('error', 'ORDER_NOT_PAYABLE', 'status', o.status);
  END IF;
  RETURN json_build_object('order', json_build_object(
    'id', o.id, 'userId', o.user_id, 'status', o.status, 'total', o.total, 'couponId', NULL, 'discount', 0, 'failureReason', o.failure_reason,
    'createdAt', o.created_at, 'updatedAt', o.updated_at,
    'items', (SELECT coalesce(json_agg(json_build_object('productId', product_id, 'quantity', quantity, 'unitPrice', unit_price)
                                       ORDER BY product_id), '[]'::json)
              FROM order_items WHERE order_id = p_id)));
END $$;
`;

type OrderRow = { id: string; user_id: string; status: string; total: number; failure_reason: string | null; created_at: number; updated_at: number };

const isRetryable = (error: unknown) => ['40P01', '40001'].includes((error as { code?: string }).code ?? '');

export async function openPostgres(url: string, mode: Mode, poolSize: number): Promise<Store> {
  const sql = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    types: { int8: { to: INT8_OID, from: [INT8_OID], serialize: (v: number) => String(v), parse: (v: string) => Number(v) } },
  });
  await sql.unsafe(SCHEMA);
  if (mode === 'sql') await sql.unsafe(PAY_FUNCTION);

  async function readOrder(db: postgres.Sql, id: string): Promise<OrderView | undefined> {
    const rows = await db<(OrderRow & { product_id: string | null; quantity: number; unit_price: number })[]>`
      SELECT o.*, i.product_id, i.quantity, i.unit_price FROM orders o LEFT JOIN order_items i ON i.order_id = o.id
      WHERE o.id = ${id} ORDER BY i.product_id`;
    const first = rows[0];
    if (!first) return undefined;
    return orderView(first, rows.filter((r) => r.product_id !== null).map((r) => itemView(r as { product_id: string; quantity: number; unit_price: number })));
  }

  /** The items of `orders` in one query, as the API's orders. */
  async function withItems(orders: readonly OrderRow[]): Promise<OrderView[]> {
    if (orders.length === 0) return [];
    const items = await sql<{ order_id: string; product_id: string; quantity: number; unit_price: number }[]>`
      SELECT order_id, product_id, quantity, unit_price FROM order_items WHERE order_id IN ${sql(orders.map((o) => o.id))} ORDER BY order_id, product_id`;
    return ordersWithItems(orders, items);
  }

  /**
   * BEGIN … COMMIT on a reserved connection. (postgres.js 3.4.9's sql.begin can send BEGIN on a
   * connection it has not reserved while plain queries are pipelined on the pool, failing with
   * UNSAFE_TRANSACTION: porsager/postgres#823, #1189. reserve() only hands out an idle one.)
   */
  async function inTransaction<T>(work: (tx: postgres.ReservedSql) => Promise<T>): Promise<T> {
    const tx = await sql.reserve();
    try {
      await tx`BEGIN`;
      const result = await work(tx);
      await tx`COMMIT`;
      return result;
    } catch (error) {
      await tx`ROLLBACK`.catch(() => undefined);
      throw error;
    } finally {
      tx.release();
    }
  }

  /** The payment as the ORM-style service does it: one transaction, a statement per round trip. */
  const payWithLocks = (id: string, now: number): Promise<Outcome<OrderView>> =>
    retrying(isRetryable, () =>
      inTransaction(async (tx): Promise<Outcome<OrderView>> => {
        const [order] = await tx<OrderRow[]>`SELECT * FROM orders WHERE id = ${id} FOR UPDATE`;
        if (!order) return fail('NOT_FOUND', `order ${id} not found`);
        const items = (await tx<{ product_id: string; quantity: number; unit_price: number }[]>`
          SELECT product_id, quantity, unit_price FROM order_items WHERE order_id = ${id} ORDER BY product_id`).map(itemView);
        if (order.status === 'PAID') return ok(orderView(order, items));
        if (order.status !== 'CREATED') return fail('ORDER_NOT_PAYABLE', `order ${id} is ${order.status.toLowerCase()}`);
        const failWith = async (error: 'INSUFFICIENT_STOCK' | 'INSUFFICIENT_POINTS', message: string, productId?: string) => {
          await tx`UPDATE orders SET status = 'FAILED', failure_reason = ${error}, updated_at = ${now} WHERE id = ${id}`;
          return fail<OrderView>(error, message, productId);
        };
        const ids = items.map((i) => i.productId);
        const products = await tx<{ id: string; stock: number }[]>`SELECT id, stock FROM products WHERE id IN ${tx(ids)} ORDER BY id FOR UPDATE`;
        const stock = new Map(products.map((p) => [p.id, p.stock]));
        const short = items.find((i) => (stock.get(i.productId) ?? 0) < i.quantity);
        if (short) return failWith('INSUFFICIENT_STOCK', `not enough stock of ${short.productId}`, short.productId);
        const [user] = await tx<{ points: number }[]>`SELECT points FROM users WHERE id = ${order.user_id} FOR UPDATE`;
        if (!user || user.points < order.total) return failWith('INSUFFICIENT_POINTS', `user ${order.user_id} has too few points`);
        for (const item of items) await tx`UPDATE products SET stock = stock - ${item.quantity} WHERE id = ${item.productId}`;
        await tx`UPDATE users SET points = points - ${order.total} WHERE id = ${order.user_id}`;
        await tx`UPDATE orders SET status = 'PAID', updated_at = ${now} WHERE id = ${id}`;
        const payload = JSON.stringify({ orderId: id, userId: order.user_id, total: order.total });
        await tx`INSERT INTO outbox (order_id, event_type, payload, created_at) VALUES (${id}, 'OrderPaid', ${payload}, ${now})`;
        return ok(orderView({ ...order, status: 'PAID', updated_at: now }, items));
      }),
    );

  const payInOneCall = (id: string, now: number): Promise<Outcome<OrderView>> =>
    retrying(isRetryable, async () => {
      const [row] = await sql<{ r: { error?: string; productId?: string; status?: string; order?: OrderView } }[]>`SELECT bench_pay(${id}, ${now}) AS r`;
      const r = row?.r ?? {};
      if (r.order) return ok(r.order);
      switch (r.error) {
        case 'NOT_FOUND':
          return fail('NOT_FOUND', `order ${id} not found`);
        case 'INSUFFICIENT_STOCK':
          return fail('INSUFFICIENT_STOCK', `not enough stock of ${r.productId}`, r.productId);
        case 'INSUFFICIENT_POINTS':
          return fail('INSUFFICIENT_POINTS', 'too few points');
        default:
          return fail('ORDER_NOT_PAYABLE', `order ${id} is ${String(r.status).toLowerCase()}`);
      }
    });

  return {
    async createUser(id, name, points): Promise<UserRow> {
      await sql`INSERT INTO users (id, name, points) VALUES (${id}, ${name}, ${points})`;
      return { id, name, points };
    },
    async getUser(id) {
      const [row] = await sql<UserRow[]>`SELECT id, name, points FROM users WHERE id = ${id}`;
      return row;
    },
    async createProduct(id, name, price, stock): Promise<ProductRow> {
      await sql`INSERT INTO products (id, name, price, stock) VALUES (${id}, ${name}, ${price}, ${stock})`;
      return { id, name, price, stock };
    },
    async getProduct(id) {
      const [row] = await sql<ProductRow[]>`SELECT id, name, price, stock FROM products WHERE id = ${id}`;
      return row;
    },
    async createOrder(id: string, userId: string, items: readonly NewItem[], now: number) {
      const ids = items.map((i) => i.productId);
      const [users, products] = await Promise.all([
        sql`SELECT id FROM users WHERE id = ${userId}`,
        sql<{ id: string; price: number }[]>`SELECT id, price FROM products WHERE id IN ${sql(ids)}`,
      ]);
      if (users.length === 0) return fail('NOT_FOUND', `user ${userId} not found`);
      const price = new Map(products.map((p) => [p.id, p.price]));
      const missing = ids.find((p) => !price.has(p));
      if (missing) return fail('NOT_FOUND', `product ${missing} not found`, missing);
      const rows = items.map((i) => ({ order_id: id, product_id: i.productId, quantity: i.quantity, unit_price: price.get(i.productId) as number }));
      const total = rows.reduce((sum, r) => sum + r.quantity * r.unit_price, 0);
      // One statement, so the order and its items commit together without a transaction block.
      // (The items come first: postgres.js picks its helper's form from the keyword before it.)
      await sql`
        WITH i AS (INSERT INTO order_items ${sql(rows, 'order_id', 'product_id', 'quantity', 'unit_price')})
        INSERT INTO orders (id, user_id, status, total, failure_reason, created_at, updated_at)
        VALUES (${id}, ${userId}, 'CREATED', ${total}, NULL, ${now}, ${now})`;
      return ok(orderView({ id, user_id: userId, status: 'CREATED', total, failure_reason: null, created_at: now, updated_at: now }, rows.map(itemView)));
    },
    getOrder: (id) => readOrder(sql, id),
    payOrder: mode === 'locks' ? payWithLocks : payInOneCall,
    async listUsers({ name, after, limit }) {
      const rows = await sql<UserRow[]>`
        SELECT id, name, points FROM users WHERE true ${name === undefined ? sql`` : sql`AND name = ${name}`} ${after === undefined ? sql`` : sql`AND id > ${after}`}
        ORDER BY id LIMIT ${limit + 1}`;
      return pageOf([...rows], limit, (u) => u.id);
    },
    async listProducts({ name, after, limit }) {
      const rows = await sql<ProductRow[]>`
        SELECT id, name, price, stock FROM products WHERE true ${name === undefined ? sql`` : sql`AND name = ${name}`} ${after === undefined ? sql`` : sql`AND id > ${after}`}
        ORDER BY id LIMIT ${limit + 1}`;
      return pageOf([...rows], limit, (p) => p.id);
    },
    async userOrders({ userId, after, limit }) {
      const rows = await sql<OrderRow[]>`
        SELECT * FROM orders WHERE user_id = ${userId}
        ${after === undefined ? sql`` : sql`AND (created_at < ${after[0]} OR (created_at = ${after[0]} AND id < ${after[1]}))`}
        ORDER BY created_at DESC, id DESC LIMIT ${limit + 1}`;
      return orderPage(rows, limit, withItems);
    },
    async ordersByStatus({ status, since, after, limit }) {
      const rows = await sql<OrderRow[]>`
        SELECT * FROM orders WHERE status = ${status} AND created_at >= ${since}
        ${after === undefined ? sql`` : sql`AND (created_at < ${after[0]} OR (created_at = ${after[0]} AND id < ${after[1]}))`}
        ORDER BY created_at DESC, id DESC LIMIT ${limit + 1}`;
      return orderPage(rows, limit, withItems);
    },
    async ordersByIds(ids) {
      if (ids.length === 0) return { items: [], nextCursor: null };
      const rows = await sql<OrderRow[]>`SELECT * FROM orders WHERE id IN ${sql([...ids])}`;
      const byId = new Map(rows.map((r) => [r.id, r]));
      return { items: await withItems(ids.flatMap((id) => byId.get(id) ?? [])), nextCursor: null };
    },
    async popularProducts({ since, limit }) {
      const rows = await sql<{ id: string; name: string; units_sold: string }[]>`
        SELECT p.id, p.name, SUM(i.quantity) AS units_sold
        FROM orders o JOIN order_items i ON i.order_id = o.id JOIN products p ON p.id = i.product_id
        WHERE o.status = 'PAID' AND o.created_at >= ${since}
        GROUP BY p.id, p.name ORDER BY units_sold DESC, p.id LIMIT ${limit}`;
      return { items: rows.map((r): PopularProduct => ({ id: r.id, name: r.name, unitsSold: Number(r.units_sold) })), nextCursor: null };
    },
    async createCoupon(id, c, now) {
      const [row] = await sql<Parameters<typeof couponView>[0][]>`
        INSERT INTO coupons (id, name, discount_type, discount_value, quantity, issued, valid_from, valid_until, created_at)
        VALUES (${id}, ${c.name}, ${c.discountType}, ${c.discountValue}, ${c.quantity}, 0, ${c.validFrom}, ${c.validUntil}, ${now}) RETURNING *`;
      return couponView(row as Parameters<typeof couponView>[0]);
    },
    issueCoupon: (couponId, userId, now) =>
      refusing(() =>
        retrying(isRetryable, () =>
          inTransaction(async (tx) => {
            const [[user], [coupon]] = await Promise.all([tx`SELECT 1 FROM users WHERE id = ${userId}`, tx`SELECT 1 FROM coupons WHERE id = ${couponId}`]);
            if (!user) return fail('NOT_FOUND', `user ${userId} not found`);
            if (!coupon) return fail('NOT_FOUND', `coupon ${couponId} not found`);
            const claimed = await tx`
              INSERT INTO user_coupons (user_id, coupon_id, status, order_id, issued_at) VALUES (${userId}, ${couponId}, 'ISSUED', NULL, ${now})
              ON CONFLICT DO NOTHING`;
            if (claimed.count === 0) throw new Refusal(fail('COUPON_ALREADY_ISSUED', `user ${userId} already holds coupon ${couponId}`));
            const taken = await tx`UPDATE coupons SET issued = issued + 1 WHERE id = ${couponId} AND issued < quantity`;
            if (taken.count === 0) throw new Refusal(fail('COUPON_SOLD_OUT', `coupon ${couponId} is sold out`));
            return ok({ couponId, userId, status: 'ISSUED' as const });
          }),
        ),
      ),
    async userCoupons({ userId, after, limit }) {
      const rows = await sql<Parameters<typeof heldCouponView>[0][]>`
        SELECT uc.coupon_id, uc.status, uc.order_id, uc.issued_at, c.name, c.discount_type, c.discount_value, c.valid_from, c.valid_until
        FROM user_coupons uc JOIN coupons c ON c.id = uc.coupon_id
        WHERE uc.user_id = ${userId} AND uc.status IN ('ISSUED', 'USED') ${after === undefined ? sql`` : sql`AND uc.coupon_id > ${after}`}
        ORDER BY uc.coupon_id LIMIT ${limit + 1}`;
      // Only an empty answer needs to know whether the user exists (404).
      if (rows.length === 0 && (await sql`SELECT 1 FROM users WHERE id = ${userId}`).length === 0) return fail('NOT_FOUND', `user ${userId} not found`);
      return ok(pageOf(rows.map(heldCouponView), limit, (c) => c.couponId));
    },
    async ping() {
      try {
        await sql`SELECT 1`;
        return true;
      } catch {
        return false;
      }
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
