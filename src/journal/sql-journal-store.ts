// The journal's SQL: one transaction per batch for events, snapshots, read-model rows and outbox rows.

import type { Kysely } from 'kysely';
import type { Database } from '../db/connect.js';
import type { OutboxTable, Schema } from '../db/schema.js';
import { arrayStatements } from './array-statements.js';
import { planBatch } from './batch-plan.js';
import type { AppendEntry, Snapshot, StoredEvent } from './journal.js';
import type { JournalStore } from './journal-store.js';
import { rowStatements } from './row-statements.js';
import { fenceStatements, type Fence } from './shard-fence.js';

/**
 * The journal over SQL. Batches are written as portable row statements, or on PostgreSQL as
 * array statements whose text never changes (see `DialectTraits.arrayParameters`).
 */
export class SqlJournalStore implements JournalStore {
  private readonly db: Kysely<Schema>;

  constructor(private readonly database: Database) {
    this.db = database.db;
  }

  get commitsInOrder(): boolean {
    return this.database.transactInOrder !== undefined;
  }

  async writeBatch(entries: readonly AppendEntry[], outbox: readonly OutboxTable[] = [], inOrder?: { chain: number }, fences: readonly Fence[] = []): Promise<void> {
    const plan = planBatch(entries, Date.now(), outbox);
    const { traits, transactInOrder } = this.database;
    const rows = traits.arrayParameters ? arrayStatements(this.db, plan) : rowStatements(this.db, traits, plan);
    const statements = fences.length === 0 ? rows : [...fenceStatements(this.db, traits, fences), ...rows];
    await (inOrder && transactInOrder ? transactInOrder(statements, inOrder.chain) : this.database.transact(statements));
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
