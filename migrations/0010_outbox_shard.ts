// The shard of the order an outbox row concerns: in a cluster, the process serving that shard delivers the row.

import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectTraits } from '../src/db/dialect-traits.js';

export const outboxShard = (_traits: DialectTraits): Migration => ({
  async up(db: Kysely<unknown>) {
    // No index: the table holds only rows not yet delivered, and the relay reads it in position order.
    await db.schema.alterTable('outbox').addColumn('shard', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('outbox_dead_letters').addColumn('shard', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('outbox_dead_letters').dropColumn('shard').execute();
    await db.schema.alterTable('outbox').dropColumn('shard').execute();
  },
});
