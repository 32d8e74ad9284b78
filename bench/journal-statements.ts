// What a journal batch's PostgreSQL statements cost: Node CPU to build and serialise them, and wall and server time to commit them.
//
//   npx tsx bench/journal-statements.ts [--db postgres://postgres@127.0.0.1:5432/test] [--pays 90] [--rounds 40]
//
// Three ways to bind the same batch, alternated batch by batch so a noisy machine hurts them alike:
//   arrays    one JS array per column, serialised by postgres.js (`arraySerializer`, `arrayEscape`)
//   literal   one array literal per column, written by JSON.stringify (`arrayLiteral`, what the journal uses)
//   recordset one JSON document per statement, `json_to_recordset($1::text::json)`

import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql, type CompiledQuery, type Kysely } from 'kysely';
import postgres from 'postgres';
import { connect, type Database } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { OutboxTable, Schema } from '../src/db/schema.js';
import { arrayLiteral, arrayStatements } from '../src/journal/array-statements.js';
import { planBatch, type BatchPlan } from '../src/journal/batch-plan.js';
import type { AppendEntry } from '../src/journal/journal.js';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    pays: { type: 'string', default: '90' },
    rounds: { type: 'string', default: '40' },
    'cpu-iterations': { type: 'string', default: '300' },
  },
});
const PAYS = Number(args.pays);
const ROUNDS = Number(args.rounds);
const CPU_ITERATIONS = Number(args['cpu-iterations']);
const USERS = 5000;

// postgres.js keeps its serialisers internal; the bench calls the very functions its Bind does.
const pgTypesPath = new URL('../node_modules/postgres/src/types.js', import.meta.url).href;
const { arraySerializer } = (await import(pgTypesPath)) as {
  arraySerializer: (xs: unknown, serializer: ((x: unknown) => string) | undefined, options: unknown, typarray: number) => string;
};
const pgOptions = { transform: { undefined: undefined } };
const elementSerializer: Record<string, (x: unknown) => string> = { text: (x) => '' + x, int8: (x) => String(x), int4: (x) => '' + x };

type Variant = 'arrays' | 'literal' | 'recordset';
const VARIANTS: readonly Variant[] = ['arrays', 'literal', 'recordset'];

// ---- realistic batches: PAYS payments of one hot product, each by another user ----

const counters = new Map<string, number>();
const nextSeq = (key: string) => {
  const n = (counters.get(key) ?? 0) + 1;
  counters.set(key, n);
  return n;
};
let orderCount = 0;
let outboxPosition = 0;

function payBatch(now: number): BatchPlan {
  const entries: AppendEntry[] = [];
  const outbox: OutboxTable[] = [];
  const productKey = 'product:p-hot';
  let stock = 1_000_000_000 - orderCount;
  for (let i = 0; i < PAYS; i++) {
    const orderId = `o-${orderCount++}`;
    const userId = `u-${(orderCount * 7919) % USERS}`;
    const orderKey = `order:${orderId}`;
    const userKey = `user:${userId}`;
    const items = [{ productId: 'p-hot', quantity: 1, unitPrice: 1990 }];
    const event = (type: string, body: object) => ({ type, body });
    const orderEvents = [
      event('PaymentStarted', { type: 'PaymentStarted', orderId, userId, items, couponId: null, startedAt: now }),
      event('OrderPaid', { type: 'OrderPaid', orderId, userId, total: 1990, discount: 0, pointsCharged: 1990, paidAt: now, note: 'said "ok" \\ {x,y}' }),
    ];
    stock--;
    entries.push({
      key: productKey,
      events: [{ sequenceNr: nextSeq(productKey), type: 'StockReserved', ref: orderId, payload: JSON.stringify({ type: 'StockReserved', orderId, quantity: 1, stockAfter: stock, reservationId: randomUUID() }), at: now }],
      creates: false,
      row: { table: 'products', row: { id: 'p-hot', name: 'Hot "thing" {1}', price: 1990, stock, created_at: 0, updated_at: now } },
      sales: [{ productId: 'p-hot', day: Math.floor(now / 86_400_000), units: 1 }],
    });
    entries.push({
      key: userKey,
      events: [{ sequenceNr: nextSeq(userKey), type: 'PointsDeducted', ref: orderId, payload: JSON.stringify({ type: 'PointsDeducted', orderId, amount: 1990, balanceAfter: 10_000_000 - orderCount, at: now }), at: now }],
      creates: false,
      row: { table: 'users', row: { id: userId, name: `user ${userId}`, points: 10_000_000 - orderCount, created_at: 0, updated_at: now } },
    });
    entries.push({
      key: orderKey,
      events: orderEvents.map((e) => ({ sequenceNr: nextSeq(orderKey), type: e.type, ref: null, payload: JSON.stringify(e.body), at: now })),
      creates: false,
      row: {
        table: 'orders',
        row: { id: orderId, user_id: userId, status: 'PAID', total: 1990, coupon_id: null, discount: 0, failure_reason: null, created_at: now - 50, updated_at: now },
        items: [],
      },
    });
    outbox.push({
      position: ++outboxPosition,
      sink: 'webhook',
      event_id: `${orderKey}:2`,
      order_key: orderId,
      event_type: 'OrderPaid',
      payload: JSON.stringify({ id: `${orderKey}:2`, type: 'OrderPaid', orderId, userId, items, total: 1990, paidAt: new Date(now).toISOString() }),
      created_at: now,
      attempts: 0,
      last_error: null,
      shard: 0,
      trace_parent: null,
    });
  }
  return planBatch(entries, now, outbox);
}

// ---- the json_to_recordset candidate, for the tables these batches touch ----

function recordsetStatements(db: Kysely<Schema>, plan: BatchPlan): CompiledQuery[] {
  const unsupported = plan.snapshots.length + plan.users.inserts.length + plan.products.inserts.length + plan.orders.inserts.length + plan.coupons.inserts.length + plan.coupons.updates.length + plan.userCoupons.length;
  if (unsupported > 0) throw new Error('recordset candidate covers only what pay batches write');
  const queries: CompiledQuery[] = [];
  const json = (rows: readonly object[]) => JSON.stringify(rows);
  const add = (query: { compile(executor: Kysely<Schema>): CompiledQuery }) => queries.push(query.compile(db));
  if (plan.events.length > 0) {
    add(sql`insert into journal (persistence_key, sequence_nr, event_type, ref, payload, created_at)
      select * from json_to_recordset(${json(plan.events)}::text::json)
        as v(persistence_key text, sequence_nr int8, event_type text, ref text, payload text, created_at int8)`);
  }
  if (plan.sales.length > 0) {
    add(sql`insert into product_sales_daily (product_id, day, units)
      select * from json_to_recordset(${json(plan.sales)}::text::json) as v(product_id text, day int4, units int8)
      on conflict (product_id, day) do update set units = product_sales_daily.units + excluded.units`);
  }
  if (plan.outbox.length > 0) {
    add(sql`insert into outbox (position, sink, event_id, order_key, event_type, payload, created_at)
      select position, sink, event_id, order_key, event_type, payload, created_at from json_to_recordset(${json(plan.outbox)}::text::json)
        as v(position int8, sink text, event_id text, order_key text, event_type text, payload text, created_at int8)`);
  }
  if (plan.users.updates.length > 0) {
    add(sql`update users t set points = v.points, updated_at = v.updated_at
      from json_to_recordset(${json(plan.users.updates)}::text::json) as v(id text, points int8, updated_at int8) where t.id = v.id`);
  }
  if (plan.products.updates.length > 0) {
    add(sql`update products t set stock = v.stock, updated_at = v.updated_at
      from json_to_recordset(${json(plan.products.updates)}::text::json) as v(id text, stock int8, updated_at int8) where t.id = v.id`);
  }
  if (plan.orders.updates.length > 0) {
    add(sql`update orders t set status = v.status, failure_reason = v.failure_reason, updated_at = v.updated_at
      from json_to_recordset(${json(plan.orders.updates)}::text::json) as v(id text, status text, failure_reason text, updated_at int8)
      where t.id = v.id`);
  }
  return queries;
}

const build = (db: Kysely<Schema>, plan: BatchPlan, variant: Variant): CompiledQuery[] =>
  variant === 'recordset' ? recordsetStatements(db, plan) : flat(arrayStatements(db, plan, variant === 'arrays' ? (values) => values : arrayLiteral));
const flat = ({ fresh, rest }: { fresh: CompiledQuery[]; rest: CompiledQuery[] }) => [...fresh, ...rest];

/** What postgres.js's Bind does to each parameter once the statement's types are known, then the UTF-8 bytes it writes. */
function serialise(queries: readonly CompiledQuery[]): number {
  let bytes = 0;
  for (const q of queries) {
    const casts = [...q.sql.matchAll(/\$(\d+)::(\w+)(\[\])?/g)];
    q.parameters.forEach((p, i) => {
      const cast = casts.find((c) => Number(c[1]) === i + 1);
      const value = Array.isArray(p) ? arraySerializer(p, elementSerializer[cast?.[2] ?? 'text'], pgOptions, 0) : String(p);
      bytes += Buffer.byteLength(value);
    });
  }
  return bytes;
}

const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

// ---- (a) Node CPU to build and serialise, no database ----

function cpuOnly(db: Kysely<Schema>): void {
  const plans = Array.from({ length: 20 }, () => payBatch(Date.now()));
  const stats = new Map<Variant, { micros: number; n: number; bytes: number }>(VARIANTS.map((v) => [v, { micros: 0, n: 0, bytes: 0 }]));
  for (let i = 0; i < CPU_ITERATIONS; i++) {
    for (const variant of i % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
      const plan = plans[i % plans.length] as BatchPlan;
      const start = cpuMicros();
      const bytes = serialise(build(db, plan, variant));
      const s = stats.get(variant)!;
      if (i >= 20) {
        s.micros += cpuMicros() - start;
        s.n++;
        s.bytes = bytes;
      }
    }
  }
  const sample = plans[0] as BatchPlan;
  console.log(`\n(a) build + serialise, no database: ${sample.events.length} events, ${sample.users.updates.length} user updates, ` +
    `${sample.products.updates.length} product update, ${sample.orders.updates.length} order updates, ${sample.sales.length} sales row, ${sample.outbox.length} outbox rows`);
  for (const [variant, s] of stats) console.log(`  ${variant.padEnd(9)} ${(s.micros / s.n).toFixed(0).padStart(6)} µs CPU per batch   ${s.bytes} parameter bytes`);
}

// ---- (b) committed against PostgreSQL ----

function ticksOf(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function committed(database: Database): Promise<void> {
  const { db } = database;
  await sql`insert into users (id, name, points, created_at, updated_at)
    select 'u-' || g, 'user u-' || g, 10000000, 0, 0 from generate_series(0, ${USERS - 1}) g`.execute(db);
  await sql`insert into products (id, name, price, stock, created_at, updated_at) values ('p-hot', 'hot', 1990, 1000000000, 0, 0)`.execute(db);
  const orders = (ROUNDS + 2) * VARIANTS.length * PAYS;
  await sql`insert into orders (id, user_id, status, total, discount, created_at, updated_at)
    select 'o-' || g, 'u-' || (g % ${USERS}), 'PAYING', 1990, 0, 0, 0 from generate_series(0, ${orders - 1}) g`.execute(db);
  await sql`vacuum analyze`.execute(db);
  const backend = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
  const pid = backend.rows[0]!.pid;
  const samples = new Map<Variant, { wall: number[]; cpu: number[]; ticks: number }>(VARIANTS.map((v) => [v, { wall: [], cpu: [], ticks: 0 }]));
  for (let round = 0; round < ROUNDS + 2; round++) {
    const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const variant of order) {
      const plan = payBatch(Date.now());
      const ticks = ticksOf(pid);
      const cpu = cpuMicros();
      const wall = performance.now();
      await database.transact(build(db, plan, variant));
      const s = samples.get(variant)!;
      // The first two rounds prepare each statement on the connection (a describe round trip each).
      if (round >= 2) {
        s.wall.push(performance.now() - wall);
        s.cpu.push(cpuMicros() - cpu);
        s.ticks += ticksOf(pid) - ticks;
      }
    }
  }
  const check = await sql<{ n: string }>`select count(*) as n from journal`.execute(db);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`\n(b) committed on PostgreSQL, ${ROUNDS} batches each, alternated (${check.rows[0]?.n} journal rows written):`);
  for (const [variant, s] of samples) {
    console.log(
      `  ${variant.padEnd(9)} wall median ${median(s.wall).toFixed(2)} ms, mean ${mean(s.wall).toFixed(2)} ms   ` +
        `Node CPU median ${median(s.cpu).toFixed(0)} µs, mean ${mean(s.cpu).toFixed(0)} µs   ` +
        `backend CPU ${((s.ticks * 10_000) / s.wall.length).toFixed(0)} µs per batch (10 ms ticks)`,
    );
  }
}

const name = `bench_stmts_${Math.random().toString(36).slice(2, 10)}`;
const admin = postgres(args.db, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${name}`);
const url = new URL(args.db);
url.pathname = `/${name}`;
const database = await connect({ url: url.toString(), dataDir: '', poolSize: 1 });
try {
  await migrateToLatest(database);
  cpuOnly(database.db);
  await committed(database);
} finally {
  await database.close();
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}
