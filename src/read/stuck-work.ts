// The sweeper's queries: sagas and coupon claims a crash or a failed step interrupted, and unpaid orders past their time.

import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';

/** At most this many of each are poked per sweep; the next sweep takes the rest. */
const LIMIT = 1000;

export class StuckWork {
  constructor(private readonly db: Kysely<Schema>) {}

  /** Orders whose saga (pay or cancel) has not moved since `cutoff`. */
  async sagas(status: 'PAYING' | 'CANCELLING', cutoff: number): Promise<string[]> {
    const rows = await this.db.selectFrom('orders').select('id').where('status', '=', status).where('updated_at', '<=', cutoff).limit(LIMIT).execute();
    return rows.map((r) => r.id);
  }

  /** Users with a coupon claim left open since `cutoff`. */
  async claims(cutoff: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('user_coupons')
      .select('user_id')
      .distinct()
      .where('status', '=', 'CLAIMING')
      .where('updated_at', '<=', cutoff)
      .limit(LIMIT)
      .execute();
    return rows.map((r) => r.user_id);
  }

  /** Orders created no later than `createdBy` and still unpaid. */
  async unpaidOrders(createdBy: number): Promise<string[]> {
    const rows = await this.db.selectFrom('orders').select('id').where('status', '=', 'CREATED').where('created_at', '<=', createdBy).limit(LIMIT).execute();
    return rows.map((r) => r.id);
  }
}
