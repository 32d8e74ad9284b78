// The relay's SQL: read waiting rows in order, delete delivered ones, note failures, move dead letters and back.

import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/connect.js';
import type { OutboxDeadLettersTable, OutboxTable, Schema } from '../db/schema.js';

const CHUNK = 500;

function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += CHUNK) yield items.slice(i, i + CHUNK);
}

/** A row's failures so far, written back so that a restart does not forget them. */
export interface AttemptNote {
  readonly position: number;
  readonly attempts: number;
  readonly lastError: string | null;
}

const COLUMNS = ['position', 'sink', 'event_id', 'order_key', 'event_type', 'payload', 'created_at', 'attempts', 'last_error', 'shard', 'trace_parent'] as const;

/** Errors are kept short: they go into a varchar(1000) column and the admin API. */
export const clip = (error: string | null): string | null => (error === null ? null : error.slice(0, 1000));

/**
 * The outbox tables as the relay and the admin API use them. On PostgreSQL the batch delete
 * binds the positions as one array, so its text never changes (like the journal's statements).
 */
export class OutboxStore {
  private readonly db: Kysely<Schema>;

  constructor(private readonly database: Database) {
    this.db = database.db;
  }

  /** The highest position ever handed out that is still in a table: new rows number on from it. */
  async maxPosition(): Promise<number> {
    const [pending, dead] = await Promise.all([
      this.db.selectFrom('outbox').select((eb) => eb.fn.max('position').as('max')).executeTakeFirst(),
      this.db.selectFrom('outbox_dead_letters').select((eb) => eb.fn.max('position').as('max')).executeTakeFirst(),
    ]);
    return Math.max(Number(pending?.max ?? 0), Number(dead?.max ?? 0));
  }

  /**
   * A sink's rows after `afterPosition` (and up to `through`, if given), in position (commit)
   * order, in one statement: the rows of one batch are all there or none is (a batch whose
   * commit timed out may land late).
   */
  async pending(sink: string, afterPosition: number, limit: number, through?: number): Promise<OutboxTable[]> {
    const rows = await this.db
      .selectFrom('outbox')
      .select(COLUMNS)
      .where('sink', '=', sink)
      .where('position', '>', afterPosition)
      .$if(through !== undefined, (q) => q.where('position', '<=', through!))
      .orderBy('position')
      .limit(limit)
      .execute();
    return rows.map(normalize);
  }

  /** A sink's rows of `shards` (a cluster member's), in position order. */
  async pendingIn(sink: string, shards: readonly number[], limit: number): Promise<OutboxTable[]> {
    if (shards.length === 0) return [];
    const rows = await this.db.selectFrom('outbox').select(COLUMNS).where('sink', '=', sink).where('shard', 'in', [...shards]).orderBy('position').limit(limit).execute();
    return rows.map(normalize);
  }

  /** Rows waiting per sink and the oldest one's time: the lag until the relay has read them, and a warning for sinks no longer configured. */
  async waitingBySink(): Promise<Map<string, { rows: number; oldest: number }>> {
    const rows = await this.db
      .selectFrom('outbox')
      .select(['sink', (eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.min('created_at').as('oldest')])
      .groupBy('sink')
      .execute();
    return new Map(rows.map((r) => [r.sink, { rows: Number(r.n), oldest: Number(r.oldest) }]));
  }

  async deleteDelivered(positions: readonly number[]): Promise<void> {
    if (this.database.traits.arrayParameters) {
      await sql`delete from outbox where position = any(${[...positions]}::int8[])`.execute(this.db);
      return;
    }
    for (const chunk of chunks(positions)) await this.db.deleteFrom('outbox').where('position', 'in', chunk).execute();
  }

  /** Failures are rare, so one small statement per row is fine. */
  async noteAttempts(notes: readonly AttemptNote[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const n of notes) {
        await trx.updateTable('outbox').set({ attempts: n.attempts, last_error: clip(n.lastError) }).where('position', '=', n.position).execute();
      }
    });
  }

  /** Moves rows to the dead letters with their attempts and last error, in one transaction. */
  async bury(rows: readonly OutboxTable[], failedAt: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const chunk of chunks(rows)) {
        await trx
          .insertInto('outbox_dead_letters')
          .values(chunk.map((r) => ({ ...r, last_error: clip(r.last_error), failed_at: failedAt })))
          .execute();
        await trx.deleteFrom('outbox').where('position', 'in', chunk.map((r) => r.position)).execute();
      }
    });
  }

  async countDeadLetters(): Promise<number> {
    const row = await this.db.selectFrom('outbox_dead_letters').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Dead letters after `afterPosition`, oldest first. */
  async deadLetters(afterPosition: number, limit: number): Promise<OutboxDeadLettersTable[]> {
    const rows = await this.db
      .selectFrom('outbox_dead_letters')
      .select([...COLUMNS, 'failed_at'])
      .where('position', '>', afterPosition)
      .orderBy('position')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...normalize(r), failed_at: Number(r.failed_at) }));
  }

  async deadLetter(position: number): Promise<OutboxDeadLettersTable | undefined> {
    const [row] = await this.deadLetters(position - 1, 1);
    return row?.position === position ? row : undefined;
  }

  /** True when this call removed it (two retries of one dead letter count it once). */
  async removeDeadLetter(position: number): Promise<boolean> {
    const result = await this.db.deleteFrom('outbox_dead_letters').where('position', '=', position).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async noteDeadLetterFailure(note: AttemptNote, failedAt: number): Promise<void> {
    await this.db
      .updateTable('outbox_dead_letters')
      .set({ attempts: note.attempts, last_error: clip(note.lastError), failed_at: failedAt })
      .where('position', '=', note.position)
      .execute();
  }
}

/** MySQL and PGlite can answer bigint columns as strings or numbers; the relay wants numbers. */
function normalize(r: OutboxTable): OutboxTable {
  return { ...r, position: Number(r.position), created_at: Number(r.created_at), attempts: Number(r.attempts), shard: Number(r.shard) };
}
