// First answers to requests that carried an Idempotency-Key, kept for the retention period.

import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectTraits } from '../src/db/dialect-traits.js';

export const idempotencyKeys = (traits: DialectTraits): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('idempotency_keys')
      .addColumn('idem_key', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('status_code', 'integer', (c) => c.notNull())
      .addColumn('body', sql.raw(traits.documentType), (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('idempotency_keys_created_idx').on('idempotency_keys').column('created_at').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('idempotency_keys').execute();
  },
});
