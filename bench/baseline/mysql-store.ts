// The baseline on MySQL/MariaDB: plain InnoDB tables, and a payment either with row locks (locks) or in one stored procedure call (sql).

import { createPool, type PoolConnection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
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
  type ProductRow,
  type Store,
  type UserRow,
} from './store.js';

// The indexes are those of a tuned service for its reads (and the engine's read model has the same).
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS users (
     id VARCHAR(64) PRIMARY KEY, name VARCHAR(200) NOT NULL, points BIGINT NOT NULL, INDEX users_name_idx (name)) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS products (
     id VARCHAR(64) PRIMARY KEY, name VARCHAR(200) NOT NULL, price BIGINT NOT NULL, stock BIGINT NOT NULL, INDEX products_name_idx (name)) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS orders (
     id VARCHAR(64) PRIMARY KEY, user_id VARCHAR(64) NOT NULL, status VARCHAR(16) NOT NULL, total BIGINT NOT NULL,
     failure_reason VARCHAR(40), created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
     INDEX orders_user_created_idx (user_id, created_at, id), INDEX orders_status_created_idx (status, created_at, id)) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS order_items (
     order_id VARCHAR(64) NOT NULL, product_id VARCHAR(64) NOT NULL, quantity BIGINT NOT NULL, unit_price BIGINT NOT NULL,
     PRIMARY KEY (order_id, product_id)) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS outbox (
     id BIGINT AUTO_INCREMENT PRIMARY KEY, order_id VARCHAR(64) NOT NULL, event_type VARCHAR(40) NOT NULL,
     payload TEXT NOT NULL, created_at BIGINT NOT NULL) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS coupons (
     id VARCHAR(64) PRIMARY KEY, name VARCHAR(200) NOT NULL, discount_type VARCHAR(16) NOT NULL, discount_value BIGINT NOT NULL,
     quantity BIGINT NOT NULL, issued BIGINT NOT NULL, valid_from BIGINT, valid_until BIGINT, created_at BIGINT NOT NULL) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS user_coupons (
     user_id VARCHAR(64) NOT NULL, coupon_id VARCHAR(64) NOT NULL, status VARCHAR(16) NOT NULL, order_id VARCHAR(64),
     issued_at BIGINT NOT NULL, PRIMARY KEY (user_id, coupon_id)) ENGINE=InnoDB`,
];

/**
 * The payment as one call. The locking read walks order_items by its primary key, so the
 * products are locked in id order and two multi-item payments cannot deadlock; under those
 * locks the stock check and the conditional points debit decide, then everything commits. The
 * result set carries the error, or the order's rows, so the server needs no second round trip.
 */
const PAY_PROCEDURE = `
CREATE PROCEDURE bench_pay(IN p_id VARCHAR(64), IN p_now BIGINT)
BEGIN
  DECLARE v_user VARCHAR(64) DEFAULT NULL;
  DECLARE v_status VARCHAR(16) DEFAULT NULL;
  DECLARE v_total BIGINT DEFAULT 0;
  DECLARE v_items INT DEFAULT 0;
  DECLARE v_short VARCHAR(64) DEFAULT NULL;
  DECLARE v_error VARCHAR(40) DEFAULT NULL;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  pay: BEGIN
    SELECT user_id, status, total INTO v_user, v_status, v_total FROM orders WHERE id = p_id FOR UPDATE;
    IF v_status IS NULL THEN SET v_error = 'NOT_FOUND'; LEAVE pay; END IF;
    IF v_status = 'PAID' THEN LEAVE pay; END IF;
    IF v_status <> 'CREATED' THEN SET v_error = 'ORDER_NOT_PAYABLE'; LEAVE pay; END IF;
    SELECT COUNT(*) INTO v_items FROM order_items i JOIN products p ON p.id = i.product_id WHERE i.order_id = p_id FOR UPDATE;
    SELECT MIN(i.product_id) INTO v_short FROM order_items i JOIN products p ON p.id = i.product_id
      WHERE i.order_id = p_id AND p.stock < i.quantity;
    IF v_short IS NOT NULL THEN
      SET v_error = 'INSUFFICIENT_STOCK';
      UPDATE orders SET status = 'FAILED', failure_reason = v_error, updated_at = p_now WHERE id = p_id;
      LEAVE pay;
    END IF;
    UPDATE users SET points = points - v_total WHERE id = v_user AND points >= v_total;
    IF ROW_COUNT() = 0 THEN
      SET v_error = 'INSUFFICIENT_POINTS';
      UPDATE orders SET status = 'FAILED', failure_reason = v_error, updated_at = p_now WHERE id = p_id;
      LEAVE pay;
    END IF;
    UPDATE products p JOIN order_items i ON i.product_id = p.id SET p.stock = p.stock - i.quantity
      WHERE i.order_id = p_id AND p.stock >= i.quantity;
    UPDATE orders SET status = 'PAID', updated_at = p_now WHERE id = p_id;
    INSERT INTO outbox (order_id, event_type, payload, created_at)
      VALUES (p_id, 'OrderPaid', JSON_OBJECT('orderId', p_id, 'userId', v_user, 'total', v_total), p_now);
  END pay;
  COMMIT;
  IF v_error IS NULL THEN
    SELECT NULL AS error, NULL AS short_id, o.*, i.product_id, i.quantity, i.unit_price
      FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = p_id ORDER BY i.product_id;
  ELSE
    SELECT v_error AS error, v_short AS short_id, v_status AS status;
  END IF;
END`;

type OrderRow = RowDataPacket & { id: string; user_id: string; status: string; total: number; failure_reason: string | null; created_at: number; updated_at: number };
type ItemRow = RowDataPacket & { product_id: string; quantity: number; unit_price: number };

const isRetryable = (error: unknown) => [1213, 1205].includes((error as { errno?: number }).errno ?? 0);

export async function openMysql(url: string, mode: Mode, poolSize: number): Promise<Store> {
  const pool = createPool({
    uri: url.replace(/^mariadb:/, 'mysql:'),
    connectionLimit: poolSize,
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: true,
  });
  for (const statement of SCHEMA) await pool.query(statement);
  if (mode === 'sql') {
    await pool.query('DROP PROCEDURE IF EXISTS bench_pay');
    await pool.query(PAY_PROCEDURE);
  }

  async function inTransaction<T>(work: (conn: PoolConnection) => Promise<T>): Promise<T> {
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      const result = await work(conn);
      await conn.commit();
      return result;
    } catch (error) {
      await conn.rollback().catch(() => undefined);
      throw error;
    } finally {
      conn.release();
    }
  }

  /** The items of `orders` in one query, as the API's orders. */
  async function withItems(orders: readonly OrderRow[]): Promise<OrderView[]> {
    if (orders.length === 0) return [];
    const [items] = await pool.query<(ItemRow & { order_id: string })[]>(
      'SELECT order_id, product_id, quantity, unit_price FROM order_items WHERE order_id IN (?) ORDER BY order_id, product_id',
      [orders.map((o) => o.id)],
    );
    return ordersWithItems(orders, items);
  }

  /** A keyset page by id of `columns` from `table`, optionally with an exact name. */
  async function listById<T>(table: 'users' | 'products', columns: string, name: string | undefined, after: string | undefined, limit: number): Promise<T[]> {
    const where = [...(name === undefined ? [] : ['name = ?']), ...(after === undefined ? [] : ['id > ?'])];
    const [rows] = await pool.execute<RowDataPacket[]>(
      `SELECT ${columns} FROM ${table}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ${Math.floor(limit) + 1}`,
      [...(name === undefined ? [] : [name]), ...(after === undefined ? [] : [after])],
    );
    return rows as T[];
  }

  /** Orders matching `where` (with `params`), newest first, from the cursor on. */
  async function ordersByTime(where: string, params: Array<string | number>, after: readonly [number, string] | undefined, limit: number): Promise<OrderRow[]> {
    const keyset = after === undefined ? '' : ' AND (created_at < ? OR (created_at = ? AND id < ?))';
    const [rows] = await pool.execute<OrderRow[]>(
      `SELECT * FROM orders WHERE ${where}${keyset} ORDER BY created_at DESC, id DESC LIMIT ${Math.floor(limit) + 1}`,
      [...params, ...(after === undefined ? [] : [after[0], after[0], after[1]])],
    );
    return rows;
  }

  /** The payment as the ORM-style service does it: one transaction, a statement per round trip. */
  const payWithLocks = (id: string, now: number): Promise<Outcome<OrderView>> =>
    retrying(isRetryable, () =>
      inTransaction(async (conn): Promise<Outcome<OrderView>> => {
        const [[order]] = await conn.execute<OrderRow[]>('SELECT * FROM orders WHERE id = ? FOR UPDATE', [id]);
        if (!order) return fail('NOT_FOUND', `order ${id} not found`);
        const [itemRows] = await conn.execute<ItemRow[]>('SELECT product_id, quantity, unit_price FROM order_items WHERE order_id = ? ORDER BY product_id', [id]);
        const items = itemRows.map(itemView);
        if (order.status === 'PAID') return ok(orderView(order, items));
        if (order.status !== 'CREATED') return fail('ORDER_NOT_PAYABLE', `order ${id} is ${order.status.toLowerCase()}`);
        const failWith = async (error: 'INSUFFICIENT_STOCK' | 'INSUFFICIENT_POINTS', message: string, productId?: string) => {
          await conn.execute("UPDATE orders SET status = 'FAILED', failure_reason = ?, updated_at = ? WHERE id = ?", [error, now, id]);
          return fail<OrderView>(error, message, productId);
        };
        const [products] = await conn.query<(RowDataPacket & { id: string; stock: number })[]>(
          'SELECT id, stock FROM products WHERE id IN (?) ORDER BY id FOR UPDATE',
          [items.map((i) => i.productId)],
        );
        const stock = new Map(products.map((p) => [p.id, p.stock]));
        const short = items.find((i) => (stock.get(i.productId) ?? 0) < i.quantity);
        if (short) return failWith('INSUFFICIENT_STOCK', `not enough stock of ${short.productId}`, short.productId);
        const [[user]] = await conn.execute<(RowDataPacket & { points: number })[]>('SELECT points FROM users WHERE id = ? FOR UPDATE', [order.user_id]);
        if (!user || user.points < order.total) return failWith('INSUFFICIENT_POINTS', `user ${order.user_id} has too few points`);
        for (const item of items) await conn.execute('UPDATE products SET stock = stock - ? WHERE id = ?', [item.quantity, item.productId]);
        await conn.execute('UPDATE users SET points = points - ? WHERE id = ?', [order.total, order.user_id]);
        await conn.execute("UPDATE orders SET status = 'PAID', updated_at = ? WHERE id = ?", [now, id]);
        const payload = JSON.stringify({ orderId: id, userId: order.user_id, total: order.total });
        await conn.execute("INSERT INTO outbox (order_id, event_type, payload, created_at) VALUES (?, 'OrderPaid', ?, ?)", [id, payload, now]);
        return ok(orderView({ ...order, status: 'PAID', updated_at: now }, items));
      }),
    );

  const payInOneCall = (id: string, now: number): Promise<Outcome<OrderView>> =>
    retrying(isRetryable, async () => {
      const [sets] = await pool.query<RowDataPacket[][]>('CALL bench_pay(?, ?)', [id, now]);
      const rows = (sets[0] ?? []) as (OrderRow & ItemRow & { error: string | null; short_id: string | null })[];
      const first = rows[0];
      switch (first?.error ?? null) {
        case null:
          if (!first) return fail('NOT_FOUND', `order ${id} not found`);
          return ok(orderView(first, rows.map(itemView)));
        case 'NOT_FOUND':
          return fail('NOT_FOUND', `order ${id} not found`);
        case 'INSUFFICIENT_STOCK':
          return fail('INSUFFICIENT_STOCK', `not enough stock of ${first?.short_id}`, first?.short_id ?? undefined);
        case 'INSUFFICIENT_POINTS':
          return fail('INSUFFICIENT_POINTS', 'too few points');
        default:
          return fail('ORDER_NOT_PAYABLE', `order ${id} is ${String(first?.status).toLowerCase()}`);
      }
    });

  return {
    async createUser(id, name, points): Promise<UserRow> {
      await pool.execute('INSERT INTO users (id, name, points) VALUES (?, ?, ?)', [id, name, points]);
      return { id, name, points };
    },
    async getUser(id) {
      const [[row]] = await pool.execute<(RowDataPacket & UserRow)[]>('SELECT id, name, points FROM users WHERE id = ?', [id]);
      return row && { id: row.id, name: row.name, points: row.points };
    },
    async createProduct(id, name, price, stock): Promise<ProductRow> {
      await pool.execute('INSERT INTO products (id, name, price, stock) VALUES (?, ?, ?, ?)', [id, name, price, stock]);
      return { id, name, price, stock };
    },
    async getProduct(id) {
      const [[row]] = await pool.execute<(RowDataPacket & ProductRow)[]>('SELECT id, name, price, stock FROM products WHERE id = ?', [id]);
      return row && { id: row.id, name: row.name, price: row.price, stock: row.stock };
    },
    async createOrder(id: string, userId: string, items: readonly NewItem[], now: number) {
      const ids = items.map((i) => i.productId);
      const [[users], [products]] = await Promise.all([
        pool.execute<RowDataPacket[]>('SELECT id FROM users WHERE id = ?', [userId]),
        pool.query<(RowDataPacket & { id: string; price: number })[]>('SELECT id, price FROM products WHERE id IN (?)', [ids]),
      ]);
      if (users.length === 0) return fail('NOT_FOUND', `user ${userId} not found`);
      const price = new Map(products.map((p) => [p.id, p.price]));
      const missing = ids.find((p) => !price.has(p));
      if (missing) return fail('NOT_FOUND', `product ${missing} not found`, missing);
      const rows = items.map((i) => ({ order_id: id, product_id: i.productId, quantity: i.quantity, unit_price: price.get(i.productId) as number }));
      const total = rows.reduce((sum, r) => sum + r.quantity * r.unit_price, 0);
      await inTransaction(async (conn) => {
        await conn.execute("INSERT INTO orders (id, user_id, status, total, failure_reason, created_at, updated_at) VALUES (?, ?, 'CREATED', ?, NULL, ?, ?)", [
          id,
          userId,
          total,
          now,
          now,
        ]);
        await conn.query('INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES ?', [
          rows.map((r) => [r.order_id, r.product_id, r.quantity, r.unit_price]),
        ]);
      });
      return ok(orderView({ id, user_id: userId, status: 'CREATED', total, failure_reason: null, created_at: now, updated_at: now }, rows.map(itemView)));
    },
    async getOrder(id) {
      const [rows] = await pool.execute<(OrderRow & { product_id: string | null; quantity: number; unit_price: number })[]>(
        'SELECT o.*, i.product_id, i.quantity, i.unit_price FROM orders o LEFT JOIN order_items i ON i.order_id = o.id WHERE o.id = ? ORDER BY i.product_id',
        [id],
      );
      const first = rows[0];
      if (!first) return undefined;
      return orderView(first, rows.filter((r) => r.product_id !== null).map((r) => itemView(r as ItemRow)));
    },
    payOrder: mode === 'locks' ? payWithLocks : payInOneCall,
    async listUsers({ name, after, limit }) {
      const rows = await listById<UserRow>('users', 'id, name, points', name, after, limit);
      return pageOf(rows.map((r) => ({ id: r.id, name: r.name, points: r.points })), limit, (u) => u.id);
    },
    async listProducts({ name, after, limit }) {
      const rows = await listById<ProductRow>('products', 'id, name, price, stock', name, after, limit);
      return pageOf(rows.map((r) => ({ id: r.id, name: r.name, price: r.price, stock: r.stock })), limit, (p) => p.id);
    },
    async userOrders({ userId, after, limit }) {
      return orderPage(await ordersByTime('user_id = ?', [userId], after, limit), limit, withItems);
    },
    async ordersByStatus({ status, since, after, limit }) {
      return orderPage(await ordersByTime('status = ? AND created_at >= ?', [status, since], after, limit), limit, withItems);
    },
    async ordersByIds(ids) {
      if (ids.length === 0) return { items: [], nextCursor: null };
      const [rows] = await pool.query<OrderRow[]>('SELECT * FROM orders WHERE id IN (?)', [[...ids]]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      return { items: await withItems(ids.flatMap((id) => byId.get(id) ?? [])), nextCursor: null };
    },
    async popularProducts({ since, limit }) {
      const [rows] = await pool.execute<(RowDataPacket & { id: string; name: string; units_sold: string | number })[]>(
        `SELECT p.id, p.name, SUM(i.quantity) AS units_sold
         FROM orders o JOIN order_items i ON i.order_id = o.id JOIN products p ON p.id = i.product_id
         WHERE o.status = 'PAID' AND o.created_at >= ?
         GROUP BY p.id, p.name ORDER BY units_sold DESC, p.id LIMIT ${Math.floor(limit)}`,
        [since],
      );
      return { items: rows.map((r) => ({ id: r.id, name: r.name, unitsSold: Number(r.units_sold) })), nextCursor: null };
    },
    async createCoupon(id, c, now) {
      await pool.execute(
        'INSERT INTO coupons (id, name, discount_type, discount_value, quantity, issued, valid_from, valid_until, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)',
        [id, c.name, c.discountType, c.discountValue, c.quantity, c.validFrom, c.validUntil, now],
      );
      return couponView({
        id,
        name: c.name,
        discount_type: c.discountType,
        discount_value: c.discountValue,
        quantity: c.quantity,
        issued: 0,
        valid_from: c.validFrom,
        valid_until: c.validUntil,
      });
    },
    issueCoupon: (couponId, userId, now) =>
      refusing(() =>
        retrying(isRetryable, () =>
          inTransaction(async (conn) => {
            const [[user]] = await conn.execute<RowDataPacket[]>('SELECT 1 FROM users WHERE id = ?', [userId]);
            if (!user) return fail('NOT_FOUND', `user ${userId} not found`);
            const [[coupon]] = await conn.execute<RowDataPacket[]>('SELECT 1 FROM coupons WHERE id = ?', [couponId]);
            if (!coupon) return fail('NOT_FOUND', `coupon ${couponId} not found`);
            const [claimed] = await conn.execute<ResultSetHeader>(
              "INSERT IGNORE INTO user_coupons (user_id, coupon_id, status, order_id, issued_at) VALUES (?, ?, 'ISSUED', NULL, ?)",
              [userId, couponId, now],
            );
            if (claimed.affectedRows === 0) throw new Refusal(fail('COUPON_ALREADY_ISSUED', `user ${userId} already holds coupon ${couponId}`));
            const [taken] = await conn.execute<ResultSetHeader>('UPDATE coupons SET issued = issued + 1 WHERE id = ? AND issued < quantity', [couponId]);
            if (taken.affectedRows === 0) throw new Refusal(fail('COUPON_SOLD_OUT', `coupon ${couponId} is sold out`));
            return ok({ couponId, userId, status: 'ISSUED' as const });
          }),
        ),
      ),
    async userCoupons({ userId, after, limit }) {
      const [rows] = await pool.execute<(RowDataPacket & Parameters<typeof heldCouponView>[0])[]>(
        `SELECT uc.coupon_id, uc.status, uc.order_id, uc.issued_at, c.name, c.discount_type, c.discount_value, c.valid_from, c.valid_until
         FROM user_coupons uc JOIN coupons c ON c.id = uc.coupon_id
         WHERE uc.user_id = ? AND uc.status IN ('ISSUED', 'USED')${after === undefined ? '' : ' AND uc.coupon_id > ?'}
         ORDER BY uc.coupon_id LIMIT ${Math.floor(limit) + 1}`,
        [userId, ...(after === undefined ? [] : [after])],
      );
      // Only an empty answer needs to know whether the user exists (404).
      if (rows.length === 0) {
        const [[user]] = await pool.execute<RowDataPacket[]>('SELECT 1 FROM users WHERE id = ?', [userId]);
        if (!user) return fail('NOT_FOUND', `user ${userId} not found`);
      }
      return ok(pageOf(rows.map(heldCouponView), limit, (c) => c.couponId));
    },
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close: () => pool.end(),
  };
}
