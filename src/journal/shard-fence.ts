// A batch's proof, inside its own transaction, that its writer still holds each shard it writes at the epoch it believes.

import { sql, type CompiledQuery, type Kysely } from 'kysely';
import type { DialectTraits } from '../db/dialect-traits.js';
import type { Schema } from '../db/schema.js';

/** A shard the batch writes, and the epoch (the lease's KV revision) its writer holds it at. */
export interface Fence {
  readonly shard: number;
  readonly epoch: number;
}

/**
 * Two statements that go first in the batch's transaction. The first raises each shard's stored
 * epoch to ours (never lowers it; the row lock orders two writers of one shard). The second
 * inserts into a table that refuses every row when any shard's stored epoch is above ours: a
 * writer whose lease another process has since taken (a higher epoch) has its whole batch rolled
 * back, and PostgreSQL's pipelined batches need no round trip to learn it.
 *
 * ```ts
 * const statements = [...fenceStatements(db, traits, [{ shard: 7, epoch: 42 }]), ...batch];
 * ```
 */
export function fenceStatements(db: Kysely<Schema>, traits: DialectTraits, fences: readonly Fence[]): CompiledQuery[] {
  if (fences.length === 0) return [];
  const rows = fences.map((f) => ({ shard: f.shard, epoch: f.epoch }));
  const insert = db.insertInto('shard_epochs').values(rows);
  const raise = (
    traits.upsert === 'on-conflict'
      ? insert.onConflict((oc) => oc.column('shard').doUpdateSet({ epoch: sql`greatest(shard_epochs.epoch, excluded.epoch)` }))
      : insert.onDuplicateKeyUpdate({ epoch: sql`greatest(epoch, values(epoch))` })
  ).compile();
  const guard = db
    .insertInto('stale_epoch_guard')
    .columns(['stale'])
    .expression((eb) =>
      eb
        .selectFrom('shard_epochs')
        .select(sql<number>`1`.as('stale'))
        .where((w) => w.or(fences.map((f) => w.and([w('shard', '=', f.shard), w('epoch', '>', f.epoch)]))))
        .limit(1),
    )
    .compile();
  return [raise, guard];
}

/** The database's refusal of a fenced batch: the guard table's check constraint. */
export function isStaleEpoch(error: unknown): boolean {
  return /stale_epoch_guard/i.test(error instanceof Error ? `${error.message} ${String((error as { constraint_name?: string }).constraint_name ?? '')}` : String(error));
}
