// The bench databases: one fresh database per side on the server from --db (or a PGlite directory), dropped afterwards, and read back for the invariants.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createConnection } from 'mysql2/promise';
import postgres from 'postgres';
import type { DbKind, Side } from './options.js';

export interface SideDatabase {
  /** The DATABASE_URL the side's server gets. */
  readonly url: string;
  drop(): Promise<void>;
}

const mysqlUri = (url: string) => url.replace(/^mariadb:/, 'mysql:');

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** CREATE DATABASE bench_<side>_<random> on the server of `serverUrl`, or a fresh PGlite directory. */
export async function createSideDatabase(kind: DbKind, serverUrl: string, side: Side): Promise<SideDatabase> {
  if (kind === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), `bench-${side}-`));
    return { url: `pglite:${dir}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `bench_${side}_${Math.random().toString(36).slice(2, 10)}`;
  if (kind === 'postgres') {
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return {
      url: withDatabase(serverUrl, name),
      async drop() {
        const again = postgres(serverUrl, { max: 1, onnotice: () => {} });
        try {
          await again.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await again.end();
        }
      },
    };
  }
  const admin = await createConnection(mysqlUri(serverUrl));
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(serverUrl, name),
    async drop() {
      const again = await createConnection(mysqlUri(serverUrl));
      try {
        await again.query(`DROP DATABASE IF EXISTS ${name}`);
      } finally {
        await again.end();
      }
    },
  };
}

/** Plain SQL against a side's database, whichever kind it is. */
export interface Reader {
  rows(text: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** A PGlite directory can only be opened once the engine that owns it has exited. */
export async function openReader(url: string): Promise<Reader> {
  if (url.startsWith('pglite:')) {
    const db = await PGlite.create({ dataDir: url.slice('pglite:'.length) });
    return { rows: async (text) => (await db.query<Record<string, unknown>>(text)).rows, close: () => db.close() };
  }
  if (/^postgres(ql)?:/.test(url)) {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    return { rows: async (text) => [...(await sql.unsafe(text))] as Record<string, unknown>[], close: () => sql.end() };
  }
  const conn = await createConnection(mysqlUri(url));
  return { rows: async (text) => (await conn.query(text))[0] as Record<string, unknown>[], close: () => conn.end() };
}

/**
 * Refreshes the planner's statistics of every table, as autovacuum (PostgreSQL) or InnoDB's
 * persistent statistics would have by the time a service has been up a while: right after
 * seeding they describe empty tables, and the plans then picked (a bitmap scan and sort of
 * every PAID order for a first page, a sequential scan for a join) are not what runs in
 * production. PGlite is skipped: only the engine that owns it can open it.
 */
export async function analyze(url: string): Promise<void> {
  if (url.startsWith('pglite:')) return;
  if (/^postgres(ql)?:/.test(url)) {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe('ANALYZE');
    } finally {
      await sql.end();
    }
    return;
  }
  const conn = await createConnection(mysqlUri(url));
  try {
    const [tables] = await conn.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()');
    const names = (tables as Array<{ t: string }>).map((r) => `\`${r.t}\``);
    if (names.length > 0) await conn.query(`ANALYZE TABLE ${names.join(', ')}`);
  } finally {
    await conn.end();
  }
}

/** What the run started with, to compare the database's end state against. */
export interface Seeded {
  /** Product id → initial stock (no restocks happen during a run). */
  readonly stock: ReadonlyMap<string, number>;
  /** User id → initial points. */
  readonly points: ReadonlyMap<string, number>;
}

export interface InvariantReport {
  readonly ok: boolean;
  /** Products with more units sold than they ever had, or negative stock. */
  readonly oversold: number;
  /** Products where initial ≠ stock + units of paid orders. */
  readonly stockMismatches: number;
  /** Users where initial ≠ points + spent on paid orders, or with negative points. */
  readonly pointsMismatches: number;
  /** Orders by status at the end. */
  readonly statuses: Record<string, number>;
  /** Units sold per product id, for the scenario's own checks (the flash-sale count). */
  readonly unitsSold: ReadonlyMap<string, number>;
  /** A few concrete mismatches, for the report. */
  readonly examples: readonly string[];
}

// CANCELLING orders are still paid until their cancel saga finishes (see src/engine/projections.ts).
const PAID = `('PAID', 'CANCELLING')`;

/**
 * Reads the end state back: the engine's read-model tables and the baselines' own tables share
 * names and columns (users, products, orders, order_items), so one set of queries serves both.
 * Only the seeded rows are checked, so that a shared database (--url) is judged on this run.
 */
export async function checkInvariants(reader: Reader, seeded: Seeded): Promise<InvariantReport> {
  const num = (v: unknown) => Number(v);
  const [products, users, sold, spent, statusRows] = await Promise.all([
    reader.rows('SELECT id, stock FROM products'),
    reader.rows('SELECT id, points FROM users'),
    reader.rows(
      `SELECT i.product_id AS product_id, SUM(i.quantity) AS units FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.status IN ${PAID} GROUP BY i.product_id`,
    ),
    reader.rows(`SELECT user_id, SUM(total) AS spent FROM orders WHERE status IN ${PAID} GROUP BY user_id`),
    reader.rows('SELECT status, COUNT(*) AS n FROM orders GROUP BY status'),
  ]);
  const unitsSold = new Map(sold.map((r) => [String(r.product_id), num(r.units)]));
  const spentBy = new Map(spent.map((r) => [String(r.user_id), num(r.spent)]));
  const examples: string[] = [];
  const note = (text: string) => examples.length < 5 && examples.push(text);

  let oversold = 0;
  let stockMismatches = 0;
  const stockNow = new Map(products.map((r) => [String(r.id), num(r.stock)]));
  for (const [id, initial] of seeded.stock) {
    const stock = stockNow.get(id);
    const units = unitsSold.get(id) ?? 0;
    if (stock === undefined) {
      stockMismatches++;
      note(`product ${id} missing`);
      continue;
    }
    if (stock < 0 || units > initial) {
      oversold++;
      note(`product ${id}: ${units} sold of ${initial}, stock ${stock}`);
    }
    if (initial !== stock + units) {
      stockMismatches++;
      note(`product ${id}: initial ${initial} ≠ stock ${stock} + sold ${units}`);
    }
  }

  let pointsMismatches = 0;
  const pointsNow = new Map(users.map((r) => [String(r.id), num(r.points)]));
  for (const [id, initial] of seeded.points) {
    const points = pointsNow.get(id);
    const used = spentBy.get(id) ?? 0;
    if (points === undefined || points < 0 || initial !== points + used) {
      pointsMismatches++;
      note(`user ${id}: initial ${initial} ≠ points ${points} + spent ${used}`);
    }
  }

  const statuses = Object.fromEntries(statusRows.map((r) => [String(r.status), num(r.n)]));
  // A payment still under way has taken stock or points that no paid order accounts for yet.
  const inFlight = statuses.PAYING ?? 0;
  if (inFlight > 0) note(`${inFlight} orders still PAYING`);
  return {
    ok: oversold === 0 && stockMismatches === 0 && pointsMismatches === 0 && inFlight === 0,
    oversold,
    stockMismatches,
    pointsMismatches,
    statuses,
    unitsSold,
    examples,
  };
}
