// The event journal, unique per (persistence key, sequence number), and the snapshots beside it.

import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectTraits } from '../src/db/dialect-traits.js';

export const journal = (traits: DialectTraits): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('journal')
      .addColumn('persistence_key', 'varchar(100)', (c) => c.notNull())
      .addColumn('sequence_nr', 'bigint', (c) => c.notNull())
      .addColumn('event_type', 'varchar(40)', (c) => c.notNull())
      .addColumn('ref', 'varchar(200)')
      .addColumn('payload', sql.raw(traits.documentType), (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('journal_pk', ['persistence_key', 'sequence_nr'])
      .execute();
    await db.schema.createIndex('journal_ref_idx').on('journal').columns(['persistence_key', 'ref']).execute();
    await db.schema
      .createTable('snapshots')
      .addColumn('persistence_key', 'varchar(100)', (c) => c.notNull())
      .addColumn('sequence_nr', 'bigint', (c) => c.notNull())
      .addColumn('state', sql.raw(traits.documentType), (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('snapshots_pk', ['persistence_key', 'sequence_nr'])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('snapshots').execute();
    await db.schema.dropTable('journal').execute();
  },
});
