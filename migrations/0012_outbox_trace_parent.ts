// The trace an outbox row was committed in (a W3C traceparent, null when tracing was off), so its publish joins that trace whenever it goes out.

import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectTraits } from '../src/db/dialect-traits.js';

/** A version-00 traceparent, the only one the engine writes, is exactly 55 characters. */
const TRACE_PARENT = 'varchar(55)';

export const outboxTraceParent = (_traits: DialectTraits): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('outbox').addColumn('trace_parent', TRACE_PARENT).execute();
    await db.schema.alterTable('outbox_dead_letters').addColumn('trace_parent', TRACE_PARENT).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('outbox_dead_letters').dropColumn('trace_parent').execute();
    await db.schema.alterTable('outbox').dropColumn('trace_parent').execute();
  },
});
