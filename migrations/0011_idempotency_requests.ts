// Idempotency-Key requests as claims: the key, the fingerprint of the request it is bound to and, once answered, the answer; replaces idempotency_keys.

import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectTraits } from '../src/db/dialect-traits.js';
import { idempotencyKeys } from './0003_idempotency_keys.js';

/**
 * Numbered far above the rest so that it sorts after any migration added beside it. Answers kept
 * in idempotency_keys are not carried over: they have no fingerprint to bind them to a request.
 */
export const idempotencyRequests = (traits: DialectTraits): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('idempotency_requests')
      .addColumn('idem_key', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('fingerprint', 'varchar(64)', (c) => c.notNull())
      .addColumn('resource_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('claim_token', 'varchar(64)')
      .addColumn('claimed_until', 'bigint', (c) => c.notNull())
      .addColumn('status_code', 'integer')
      .addColumn('answer', sql.raw(traits.documentType))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('idempotency_requests_created_idx').on('idempotency_requests').column('created_at').execute();
    await db.schema.dropTable('idempotency_keys').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('idempotency_requests').execute();
    await idempotencyKeys(traits).up(db);
  },
});
