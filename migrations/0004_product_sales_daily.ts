// Units sold per product per day, so that "popular over the last N days" never scans orders.

import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectTraits } from '../src/db/dialect-traits.js';

export const productSalesDaily = (_traits: DialectTraits): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('product_sales_daily')
      .addColumn('product_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('day', 'integer', (c) => c.notNull())
      .addColumn('units', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('product_sales_daily_pk', ['product_id', 'day'])
      .execute();
    await db.schema.createIndex('product_sales_daily_day_idx').on('product_sales_daily').columns(['day', 'product_id', 'units']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('product_sales_daily').execute();
  },
});
