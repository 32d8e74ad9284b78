// The journal's SQL: one transaction per batch for events, snapshots and read-model rows.

import { sql, type CompiledQuery, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/connect.js';
import type { Schema } from '../db/schema.js';
import type { AppendEntry, ReadModelRow, Snapshot, StoredEvent } from './journal.js';

const CHUNK = 500;

function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += CHUNK) yield items.slice(i, i + CHUNK);
}

export class SqlJournalStore {
  private readonly db: Kysely<Schema>;

  constructor(private readonly database: Database) {
    this.db = database.db;
  }

  /** One transaction: the batch's events, the latest snapshot per actor, and the read-model rows. */
  async writeBatch(entries: readonly AppendEntry[]): Promise<void> {
    await this.database.transact([...this.insertEvents(entries), ...this.writeSnapshots(entries), ...writeReadModel(this.db, entries)]);
  }

  private insertEvents(entries: readonly AppendEntry[]): CompiledQuery[] {
    const rows = entries.flatMap((entry) =>
      entry.events.map((e) => ({
        persistence_key: entry.key,
        sequence_nr: e.sequenceNr,
        event_type: e.type,
        ref: e.ref,
        payload: e.payload,
        created_at: e.at,
      })),
    );
    return [...chunks(rows)].map((chunk) => this.db.insertInto('journal').values(chunk).compile());
  }

  private writeSnapshots(entries: readonly AppendEntry[]): CompiledQuery[] {
    const latest = new Map<string, { sequenceNr: number; state: string }>();
    for (const entry of entries) if (entry.snapshot) latest.set(entry.key, entry.snapshot);
    if (latest.size === 0) return [];
    const now = Date.now();
    const rows = [...latest].map(([key, s]) => ({ persistence_key: key, sequence_nr: s.sequenceNr, state: s.state, created_at: now }));
    return [...chunks(rows)].flatMap((chunk) => [
      this.db.insertInto('snapshots').values(chunk).compile(),
      this.db
        .deleteFrom('snapshots')
        .where((eb) => eb.or(chunk.map((r) => eb.and([eb('persistence_key', '=', r.persistence_key), eb('sequence_nr', '<', r.sequence_nr)]))))
        .compile(),
    ]);
  }

  async loadSnapshot(key: string): Promise<Snapshot | undefined> {
    const row = await this.db
      .selectFrom('snapshots')
      .select(['sequence_nr', 'state'])
      .where('persistence_key', '=', key)
      .orderBy('sequence_nr', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? { sequenceNr: Number(row.sequence_nr), state: row.state } : undefined;
  }

  async readEvents(key: string, afterSequenceNr: number, limit: number): Promise<StoredEvent[]> {
    const rows = await this.db
      .selectFrom('journal')
      .select(['sequence_nr', 'event_type', 'ref', 'payload', 'created_at'])
      .where('persistence_key', '=', key)
      .where('sequence_nr', '>', afterSequenceNr)
      .orderBy('sequence_nr')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ sequenceNr: Number(r.sequence_nr), type: r.event_type, ref: r.ref, payload: r.payload, at: Number(r.created_at) }));
  }

  async refTypes(key: string, ref: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('journal')
      .select('event_type')
      .where('persistence_key', '=', key)
      .where('ref', '=', ref)
      .orderBy('sequence_nr')
      .execute();
    return rows.map((r) => r.event_type);
  }
}

/** One row per entity per batch: created ones are inserted, the rest updated in one statement per table. */
function writeReadModel(db: Kysely<Schema>, entries: readonly AppendEntry[]): CompiledQuery[] {
  const latest = new Map<string, { row: ReadModelRow; creates: boolean }>();
  for (const entry of entries) {
    if (!entry.row) continue;
    const previous = latest.get(entry.key);
    latest.set(entry.key, { row: entry.row, creates: entry.creates || (previous?.creates ?? false) });
  }
  const inserts = { users: [] as ReadModelRow[], products: [] as ReadModelRow[], orders: [] as ReadModelRow[] };
  const updates = { users: [] as ReadModelRow[], products: [] as ReadModelRow[], orders: [] as ReadModelRow[] };
  for (const { row, creates } of latest.values()) (creates ? inserts : updates)[row.table].push(row);

  const queries: CompiledQuery[] = [];
  for (const chunk of chunks(inserts.users)) queries.push(db.insertInto('users').values(chunk.map((r) => rowOf(r, 'users'))).compile());
  for (const chunk of chunks(inserts.products)) queries.push(db.insertInto('products').values(chunk.map((r) => rowOf(r, 'products'))).compile());
  for (const chunk of chunks(inserts.orders)) {
    queries.push(db.insertInto('orders').values(chunk.map((r) => rowOf(r, 'orders'))).compile());
    const items = chunk.flatMap((r) => (r.table === 'orders' ? r.items : []));
    for (const part of chunks(items)) queries.push(db.insertInto('order_items').values(part).compile());
  }

  for (const chunk of chunks(updates.users)) {
    const rows = chunk.map((r) => rowOf(r, 'users'));
    queries.push(
      db
        .updateTable('users')
        .set({ points: caseById(rows, (r) => sql.lit(r.points)), updated_at: caseById(rows, (r) => sql.lit(r.updated_at)) })
        .where('id', 'in', rows.map((r) => r.id))
        .compile(),
    );
  }
  for (const chunk of chunks(updates.products)) {
    const rows = chunk.map((r) => rowOf(r, 'products'));
    queries.push(
      db
        .updateTable('products')
        .set({ stock: caseById(rows, (r) => sql.lit(r.stock)), updated_at: caseById(rows, (r) => sql.lit(r.updated_at)) })
        .where('id', 'in', rows.map((r) => r.id))
        .compile(),
    );
  }
  for (const chunk of chunks(updates.orders)) {
    const rows = chunk.map((r) => rowOf(r, 'orders'));
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
  return queries;
}

type TableRow<T extends ReadModelRow['table']> = Extract<ReadModelRow, { table: T }>['row'];

function rowOf<T extends ReadModelRow['table']>(entry: ReadModelRow, table: T): TableRow<T> {
  if (entry.table !== table) throw new Error(`read-model row for ${entry.table} filed under ${table}`);
  return entry.row as TableRow<T>;
}

/** `case id when … then … end`: one UPDATE sets a different value on every row. */
function caseById<R extends { id: string }>(rows: readonly R[], value: (row: R) => RawBuilder<unknown>): RawBuilder<never> {
  return sql<never>`case id ${sql.join(rows.map((r) => sql`when ${r.id} then ${value(r)}`), sql` `)} end`;
}
