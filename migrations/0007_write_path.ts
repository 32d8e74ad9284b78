// Less work per commit on PostgreSQL: command ids are indexed only where an event has one, and
// rows updated on every payment leave room on their page for an update in place (HOT).

import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectTraits } from '../src/db/dialect-traits.js';

export const writePath = (traits: DialectTraits): Migration => ({
  async up(db: Kysely<unknown>) {
    // MySQL has no partial indexes, and InnoDB updates unindexed columns in place anyway.
    if (traits.dialect === 'mysql') return;
    // Order events carry no command id: half of a payment's events need no entry here. The
    // look-up `ref = $1` implies `ref is not null`, so it still uses this index.
    await db.schema.dropIndex('journal_ref_idx').execute();
    await db.schema.createIndex('journal_ref_idx').on('journal').columns(['persistence_key', 'ref']).where('ref', 'is not', null).execute();
    // users.points and products.stock change on every payment and are not indexed: with free
    // room on the page PostgreSQL updates the row without touching its indexes.
    await sql`alter table users set (fillfactor = 85)`.execute(db);
    await sql`alter table products set (fillfactor = 85)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    if (traits.dialect === 'mysql') return;
    await sql`alter table products reset (fillfactor)`.execute(db);
    await sql`alter table users reset (fillfactor)`.execute(db);
    await db.schema.dropIndex('journal_ref_idx').execute();
    await db.schema.createIndex('journal_ref_idx').on('journal').columns(['persistence_key', 'ref']).execute();
  },
});
