// Coupons: templates with their issued count, the coupons each user holds, and the coupon an order uses.

import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectTraits } from '../src/db/dialect-traits.js';

export const coupons = (_traits: DialectTraits): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('coupons')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('discount_type', 'varchar(8)', (c) => c.notNull())
      .addColumn('discount_value', 'bigint', (c) => c.notNull())
      .addColumn('quantity', 'bigint', (c) => c.notNull())
      .addColumn('issued', 'bigint', (c) => c.notNull())
      .addColumn('valid_from', 'bigint')
      .addColumn('valid_until', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    // The primary key leads with the user: "coupons of a user" reads one range of it.
    await db.schema
      .createTable('user_coupons')
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('coupon_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('status', 'varchar(12)', (c) => c.notNull())
      .addColumn('order_id', 'varchar(64)')
      .addColumn('issued_at', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('user_coupons_pk', ['user_id', 'coupon_id'])
      .execute();
    // The sweep looks for claims a crash interrupted.
    await db.schema.createIndex('user_coupons_status_updated_idx').on('user_coupons').columns(['status', 'updated_at']).execute();
    await db.schema.alterTable('orders').addColumn('coupon_id', 'varchar(64)').execute();
    await db.schema.alterTable('orders').addColumn('discount', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('orders').dropColumn('discount').execute();
    await db.schema.alterTable('orders').dropColumn('coupon_id').execute();
    await db.schema.dropTable('user_coupons').execute();
    await db.schema.dropTable('coupons').execute();
  },
});
