// The read side's queries use their indexes: 100,000 orders seeded, then EXPLAIN on PostgreSQL and MySQL/MariaDB.

import { sql, type Kysely } from 'kysely';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { connect, type Database } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import type { Schema } from '../../src/db/schema.js';
import { ReadQueries } from '../../src/read/queries.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { prng } from '../helpers/prng.js';

const USERS = 10_000;
const PRODUCTS = 1_000;
const ORDERS = 100_000;
const DAYS = 90;
const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 10, 24, 12);
const STATUSES = ['PAID', 'PAID', 'PAID', 'PAID', 'PAID', 'PAID', 'CREATED', 'CANCELLED', 'FAILED', 'EXPIRED'];

/** One table access in a plan: which table, whether it read the whole table, which index. */
interface Access {
  readonly table: string;
  readonly fullScan: boolean;
  readonly index: string | null;
}

const pad = (n: number) => String(n).padStart(6, '0');

async function insertChunked<T extends keyof Schema>(db: Kysely<Schema>, table: T, rows: Array<Schema[T]>): Promise<void> {
  for (let i = 0; i < rows.length; i += 1_000) await db.insertInto(table).values(rows.slice(i, i + 1_000) as never).execute();
}

async function seed({ db, traits }: Database): Promise<void> {
  const random = prng(42);
  await insertChunked(db, 'users', Array.from({ length: USERS }, (_, i) => ({ id: `u${pad(i)}`, name: `user ${i}`, points: 100, created_at: NOW, updated_at: NOW })));
  await insertChunked(
    db,
    'products',
    Array.from({ length: PRODUCTS }, (_, i) => ({ id: `p${pad(i)}`, name: `product ${i}`, price: 10, stock: 100, created_at: NOW, updated_at: NOW })),
  );
  await insertChunked(
    db,
    'orders',
    Array.from({ length: ORDERS }, (_, i) => {
      const at = NOW - Math.floor(random() * DAYS * DAY_MS);
      const status = STATUSES[Math.floor(random() * STATUSES.length)] ?? 'PAID';
      return { id: `o${pad(i)}`, user_id: `u${pad(Math.floor(random() * USERS))}`, status, total: 10, coupon_id: null, discount: 0, failure_reason: null, created_at: at, updated_at: at };
    }),
  );
  await insertChunked(
    db,
    'order_items',
    Array.from({ length: ORDERS }, (_, i) => [0, 1].slice(0, 1 + (i % 3 === 0 ? 1 : 0)).map((k) => ({ order_id: `o${pad(i)}`, product_id: `p${pad((i + k * 7) % PRODUCTS)}`, quantity: 1 + k, unit_price: 10 }))).flat(),
  );
  const today = Math.floor(NOW / DAY_MS);
  await insertChunked(
    db,
    'product_sales_daily',
    Array.from({ length: PRODUCTS * DAYS }, (_, i) => ({ product_id: `p${pad(i % PRODUCTS)}`, day: today - Math.floor(i / PRODUCTS), units: 1 + (i % 7) })),
  );
  await insertChunked(
    db,
    'user_coupons',
    Array.from({ length: USERS }, (_, i) => ({ user_id: `u${pad(i)}`, coupon_id: `c${pad(i % 10)}`, status: 'ISSUED', order_id: null, issued_at: NOW, updated_at: NOW })),
  );
  if (traits.dialect === 'mysql') await sql`analyze table users, products, orders, order_items, product_sales_daily, user_coupons`.execute(db);
  else await sql`vacuum analyze`.execute(db);
}

/** Table accesses of a query's plan, read from EXPLAIN (PostgreSQL's JSON plan, MySQL's rows). */
async function accesses(query: { explain(format?: 'json'): Promise<Array<Record<string, unknown>>> }, dialect: string): Promise<Access[]> {
  if (dialect === 'mysql') {
    const rows = await query.explain();
    return rows.map((r) => ({ table: String(r.table), fullScan: r.type === 'ALL', index: r.key === null || r.key === undefined ? null : String(r.key) }));
  }
  const [row] = await query.explain('json');
  const cell = row?.['QUERY PLAN'];
  const plan = (typeof cell === 'string' ? JSON.parse(cell) : cell) as Array<{ Plan: PgNode }>;
  const found: Access[] = [];
  const walk = (node: PgNode) => {
    if (node['Relation Name'] || node['Index Name']) {
      found.push({
        table: node['Relation Name'] ?? '',
        fullScan: node['Node Type'] === 'Seq Scan',
        index: node['Index Name'] ?? null,
      });
    }
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan[0]!.Plan);
  return found;
}

interface PgNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly 'Index Name'?: string;
  readonly Plans?: PgNode[];
}

/** Plans seen, printed at the end so the chosen indexes are on record. */
const chosen: string[] = [];

function expectIndex(name: string, found: Access[], table: string, indexes: string | readonly string[], db: string): void {
  const wanted = typeof indexes === 'string' ? [indexes] : indexes;
  chosen.push(`${db} ${name}: ${found.map((a) => `${a.table || '?'}${a.fullScan ? ' FULL SCAN' : ''}${a.index ? ` via ${a.index}` : ''}`).join(', ')}`);
  for (const scanned of ['orders', 'users', 'order_items']) {
    const full = found.filter((a) => a.fullScan && a.table === scanned);
    assert.is(full.length, 0, `${name} scans all of ${scanned}: ${JSON.stringify(found)}`);
  }
  const on = found.filter((a) => a.index !== null && wanted.includes(a.index));
  assert.ok(on.length > 0, `${name} uses ${wanted.join(' or ')} on ${table}: ${JSON.stringify(found)}`);
}

for (const kind of databaseKinds().filter((k) => k.name !== 'pglite')) {
  const it = suite<{ db: TestDatabase; database: Database; reads: ReadQueries }>(`read-side indexes on ${kind.name}`, { needs: kind.needs });

  it.before(async (ctx) => {
    ctx.db = await kind.create();
    ctx.database = await connect({ url: ctx.db.url, dataDir: '', poolSize: 2 });
    await migrateToLatest(ctx.database);
    await seed(ctx.database);
    ctx.reads = new ReadQueries(ctx.database.reads, ctx.database.traits);
  });

  /** Where the database folds the items into the list's query, they come through order_items' key. */
  const itemsByKey = (found: Access[], traits: Database['traits']) => {
    if (!traits.jsonAgg) return;
    assert.ok(found.some((a) => a.table === 'order_items' && a.index === 'order_items_pk'), `items through order_items_pk: ${JSON.stringify(found)}`);
  };
  it.after(async (ctx) => {
    await ctx.database?.close();
    await ctx.db?.drop();
    if (chosen.length > 0) console.log(`\n  chosen indexes:\n    ${chosen.splice(0).join('\n    ')}`);
  });

  it('popular products reads the daily sales by day, never orders', async ({ reads, database }) => {
    const found = await accesses(reads.popularQuery({ days: 7, limit: 10, now: NOW }), database.traits.dialect);
    assert.ok(!found.some((a) => a.table === 'orders'), 'popular products does not touch orders');
    // By day, or (MySQL, with only 1,000 products) product by product through the primary key (product_id, day).
    const salesIndexes = database.traits.dialect === 'mysql' ? ['product_sales_daily_day_idx', 'PRIMARY'] : ['product_sales_daily_day_idx', 'product_sales_daily_pk'];
    expectIndex('popular products', found, 'product_sales_daily', salesIndexes, kind.name);
    const top = await reads.popularProducts({ days: 7, limit: 3, now: NOW });
    assert.is(top.items.length, 3);
  });

  it('finished orders within N days use orders (status, created_at), first page and later pages', async ({ reads, database }) => {
    const first = await reads.ordersByStatus({ status: 'PAID', days: 7, limit: 20, now: NOW });
    assert.is(first.items.length, 20);
    for (const cursor of [undefined, first.nextCursor ?? undefined]) {
      const query = reads.ordersByStatusQuery({ status: 'PAID', days: 7, limit: 20, now: NOW, ...(cursor ? { cursor } : {}) });
      const found = await accesses(query, database.traits.dialect);
      expectIndex(`finished orders${cursor ? ' (page 2)' : ''}`, found, 'orders', 'orders_status_created_idx', kind.name);
      itemsByKey(found, database.traits);
    }
  });

  it("a user's orders use orders (user_id, created_at)", async ({ reads, database }) => {
    const page = await reads.userOrders({ userId: 'u000042', limit: 5 });
    assert.ok(page.items.length > 0);
    const query = reads.userOrdersQuery({ userId: 'u000042', limit: 5, ...(page.nextCursor ? { cursor: page.nextCursor } : {}) });
    const found = await accesses(query, database.traits.dialect);
    expectIndex("user's orders", found, 'orders', 'orders_user_created_idx', kind.name);
    itemsByKey(found, database.traits);
  });

  it('orders by ids read orders and their items by primary key', async ({ reads, database }) => {
    const ids = ['o000003', 'o000001', 'o099999', 'o000002', 'missing'];
    const page = await reads.ordersByIds(ids);
    assert.equal(page.items.map((o) => o.id), ['o000003', 'o000001', 'o099999', 'o000002']);
    assert.equal(page.items[0]?.items, [{ productId: 'p000003', quantity: 1, unitPrice: 10 }, { productId: 'p000010', quantity: 2, unitPrice: 10 }]);
    assert.equal(page.items[1]?.items, [{ productId: 'p000001', quantity: 1, unitPrice: 10 }]);
    const found = await accesses(reads.ordersByIdsQuery(ids), database.traits.dialect);
    expectIndex('orders by ids', found, 'orders', database.traits.dialect === 'mysql' ? 'PRIMARY' : 'orders_pkey', kind.name);
    itemsByKey(found, database.traits);
  });

  it('name lookups use the name indexes; coupons of a user read the key that leads with the user', async ({ reads, database }) => {
    const d = database.traits.dialect;
    assert.is((await reads.listUsers({ name: 'user 777', limit: 20 })).items[0]?.id, 'u000777');
    expectIndex('user by name', await accesses(reads.usersQuery({ name: 'user 777', limit: 20 }), d), 'users', 'users_name_idx', kind.name);
    expectIndex('product by name', await accesses(reads.productsQuery({ name: 'product 7', limit: 20 }), d), 'products', 'products_name_idx', kind.name);
    const couponsKey = d === 'mysql' ? 'PRIMARY' : 'user_coupons_pk';
    expectIndex('coupons of a user', await accesses(reads.userCouponsQuery({ userId: 'u000042', limit: 20 }), d), 'user_coupons', couponsKey, kind.name);
  });

  it.run();
}
