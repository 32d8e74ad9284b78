// Every migration in order; a released one is never edited, a change is a new file.

import type { Migration } from 'kysely/migration';
import type { DialectTraits } from '../src/db/dialect-traits.js';
import { journal } from './0001_journal.js';
import { readModel } from './0002_read_model.js';
import { idempotencyKeys } from './0003_idempotency_keys.js';
import { productSalesDaily } from './0004_product_sales_daily.js';
import { coupons } from './0005_coupons.js';
import { outbox } from './0006_outbox.js';
import { writePath } from './0007_write_path.js';
import { engineHolder } from './0008_engine_holder.js';
import { shardFences } from './0009_shard_fences.js';
import { outboxShard } from './0010_outbox_shard.js';
import { idempotencyRequests } from './0011_idempotency_requests.js';
import { outboxTraceParent } from './0012_outbox_trace_parent.js';

export const migrations = (traits: DialectTraits): Record<string, Migration> => ({
  '0001_journal': journal(traits),
  '0002_read_model': readModel(traits),
  '0003_idempotency_keys': idempotencyKeys(traits),
  '0004_product_sales_daily': productSalesDaily(traits),
  '0005_coupons': coupons(traits),
  '0006_outbox': outbox(traits),
  '0007_write_path': writePath(traits),
  '0008_engine_holder': engineHolder(traits),
  '0009_shard_fences': shardFences(traits),
  '0010_outbox_shard': outboxShard(traits),
  '0011_idempotency_requests': idempotencyRequests(traits),
  '0012_outbox_trace_parent': outboxTraceParent(traits),
});
