// Who holds the database's one-writer lock, so that a second process can name it: MySQL's
// GET_LOCK cannot say (PostgreSQL names the holder in the session's application_name instead).

import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectTraits } from '../src/db/dialect-traits.js';

export const engineHolder = (_traits: DialectTraits): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('engine_holder')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('holder', 'varchar(200)', (c) => c.notNull())
      .addColumn('since', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('engine_holder').execute();
  },
});
