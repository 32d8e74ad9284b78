// The cluster's tables: its settings (the shard count, fixed on first start), the epoch each shard's
// writer must hold, raised by every batch, and a guard table whose insert fails, so that a batch
// from a writer with an older epoch rolls back whole.

import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectTraits } from '../src/db/dialect-traits.js';

export const shardFences = (_traits: DialectTraits): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('cluster_settings')
      .addColumn('name', 'varchar(100)', (c) => c.primaryKey())
      .addColumn('value', 'varchar(200)', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('shard_epochs')
      .addColumn('shard', 'integer', (c) => c.primaryKey())
      .addColumn('epoch', 'bigint', (c) => c.notNull())
      .execute();
    // Never holds a row: `stale` must be below zero, and the batch's check inserts 1 when it finds
    // a higher epoch than its own, which fails the statement and the whole transaction.
    await db.schema
      .createTable('stale_epoch_guard')
      .addColumn('stale', 'integer', (c) => c.notNull())
      .addCheckConstraint('stale_epoch_guard_never', sql`stale < 0`)
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('stale_epoch_guard').execute();
    await db.schema.dropTable('shard_epochs').execute();
    await db.schema.dropTable('cluster_settings').execute();
  },
});
