// The journal's SQL: one transaction per batch for events, snapshots, read-model rows and outbox rows.

import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/connect.js';
import type { OutboxTable, Schema } from '../db/schema.js';
import { arrayStatements } from './array-statements.js';
import { planBatch } from './batch-plan.js';
import type { AppendEntry, Latest, Snapshot, StoredEvent } from './journal.js';
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
    const fenced = fences.length === 0 ? [] : fenceStatements(this.db, traits, fences);
    if (!traits.arrayParameters) return this.database.transact([...fenced, ...rowStatements(this.db, traits, plan)]);
    const { fresh, rest } = arrayStatements(this.db, plan);
    // The fences come first, as in one transaction at a time: a batch of a process that lost its
    // shards must not hold journal rows another process's batch waits for while it waits itself.
    if (inOrder && transactInOrder) return transactInOrder({ fresh: [...fenced, ...fresh], rest }, inOrder.chain);
    return this.database.transact([...fenced, ...fresh, ...rest]);
  }

  /**
   * One statement: the latest snapshot row, then the first `limit` events after it.
   *
   * ```sql
   * select sequence_nr, state as payload, null as event_type, null as ref, created_at from snapshots
   *   where persistence_key = ? and sequence_nr = (select max(sequence_nr) from snapshots where persistence_key = ?)
   * union all
   * (select sequence_nr, payload, event_type, ref, created_at from journal
   *   where persistence_key = ? and sequence_nr > coalesce((select max(sequence_nr) from snapshots where persistence_key = ?), 0)
   *   order by sequence_nr limit ?)
   * order by sequence_nr
   * ```
   *
   * Both legs and both subqueries see one state of the data, so a batch that commits a newer
   * snapshot (and deletes the older) while the statement runs cannot leave a gap between the
   * snapshot returned and the events after it: under the default isolation a statement sees the
   * data as committed when it began on PostgreSQL and PGlite (READ COMMITTED), and reads one
   * InnoDB read view on MySQL and MariaDB (REPEATABLE READ; an autocommit statement, its own
   * transaction). The snapshot row is the one without an event type: a journal row always has one.
   */
  async loadLatest(key: string, limit: number): Promise<Latest> {
    const latestSnapshot = this.db.selectFrom('snapshots').select((eb) => eb.fn.max('sequence_nr').as('sequence_nr')).where('persistence_key', '=', key);
    const rows = await this.db
      .selectFrom('snapshots')
      .select(['sequence_nr', 'state as payload', sql<string | null>`null`.as('event_type'), sql<string | null>`null`.as('ref'), 'created_at'])
      .where('persistence_key', '=', key)
      .where('sequence_nr', '=', latestSnapshot)
      .unionAll((eb) =>
        eb.parens(
          eb
            .selectFrom('journal')
            .select(['sequence_nr', 'payload', 'event_type', 'ref', 'created_at'])
            .where('persistence_key', '=', key)
            .where('sequence_nr', '>', eb.fn.coalesce(latestSnapshot, eb.lit(0)))
            .orderBy('sequence_nr')
            .limit(limit),
        ),
      )
      .orderBy('sequence_nr')
      .execute();
    let snapshot: Snapshot | undefined;
    const events: StoredEvent[] = [];
    for (const r of rows) {
      if (r.event_type === null) snapshot = { sequenceNr: Number(r.sequence_nr), state: r.payload };
      else events.push({ sequenceNr: Number(r.sequence_nr), type: r.event_type, ref: r.ref, payload: r.payload, at: Number(r.created_at) });
    }
    return { snapshot, events };
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
