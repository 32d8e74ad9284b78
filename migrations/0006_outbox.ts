// The transactional outbox: events waiting for a sink, written in the journal's commits, and the dead letters the relay gave up on.

import { sql, type CreateTableBuilder, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectTraits } from '../src/db/dialect-traits.js';

const outboxColumns = <T extends string>(table: CreateTableBuilder<T, never>, traits: DialectTraits) =>
  table
    .addColumn('position', 'bigint', (c) => c.primaryKey())
    .addColumn('sink', 'varchar(16)', (c) => c.notNull())
    .addColumn('event_id', 'varchar(200)', (c) => c.notNull())
    .addColumn('order_key', 'varchar(64)', (c) => c.notNull())
    .addColumn('event_type', 'varchar(40)', (c) => c.notNull())
    .addColumn('payload', sql.raw(traits.documentType), (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'varchar(1000)');

export const outbox = (traits: DialectTraits): Migration => ({
  async up(db: Kysely<unknown>) {
    // Only the primary key: the relay reads in position order and deletes by position, and
    // every index would cost each commit an insert and each delivery a delete.
    await outboxColumns(db.schema.createTable('outbox'), traits).execute();
    await outboxColumns(db.schema.createTable('outbox_dead_letters'), traits)
      .addColumn('failed_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('outbox_dead_letters').execute();
    await db.schema.dropTable('outbox').execute();
  },
});
