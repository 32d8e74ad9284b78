// Table types: every query is checked against these.

export interface JournalTable {
  persistence_key: string;
  sequence_nr: number;
  event_type: string;
  /** The command id the event records (order id, idempotency key), for the durable idempotency check. */
  ref: string | null;
  payload: string;
  created_at: number;
}

export interface SnapshotsTable {
  persistence_key: string;
  sequence_nr: number;
  state: string;
  created_at: number;
}

export interface UsersTable {
  id: string;
  name: string;
  points: number;
  created_at: number;
  updated_at: number;
}

export interface ProductsTable {
  id: string;
  name: string;
  price: number;
  stock: number;
  created_at: number;
  updated_at: number;
}

export interface OrdersTable {
  id: string;
  user_id: string;
  status: string;
  total: number;
  coupon_id: string | null;
  discount: number;
  failure_reason: string | null;
  created_at: number;
  updated_at: number;
}

export interface OrderItemsTable {
  order_id: string;
  product_id: string;
  quantity: number;
  unit_price: number;
}

/** Units sold per product per day (of the order's creation), kept up to date by the journal's commits. */
export interface ProductSalesDailyTable {
  product_id: string;
  /** Days since 1970-01-01 (UTC). */
  day: number;
  units: number;
}

export interface CouponsTable {
  id: string;
  name: string;
  discount_type: string;
  discount_value: number;
  quantity: number;
  issued: number;
  valid_from: number | null;
  valid_until: number | null;
  created_at: number;
  updated_at: number;
}

/** A user's claim on a coupon: CLAIMING while the coupon actor is asked, then ISSUED, USED or FAILED. */
export interface UserCouponsTable {
  user_id: string;
  coupon_id: string;
  status: string;
  order_id: string | null;
  issued_at: number | null;
  updated_at: number;
}

/** An event waiting for one sink: written with the event's commit, deleted once the sink has it. */
export interface OutboxTable {
  /** Commit order over all sinks, assigned by the engine; also the dead letter's id. */
  position: number;
  /** `nats` or `webhook`: an event goes out once per configured sink, each row on its own. */
  sink: string;
  event_id: string;
  /** The order the event concerns; rows of one order are delivered in position order. */
  order_key: string;
  event_type: string;
  payload: string;
  created_at: number;
  /** Failed delivery attempts so far, kept across restarts. */
  attempts: number;
  last_error: string | null;
  /** The shard of `order_key` in a cluster (the process serving it delivers the row); 0 in one process. */
  shard: number;
  /** The span that committed the event (a W3C traceparent), when tracing was on: its publish goes under it. */
  trace_parent: string | null;
}

/** A row the relay gave up on after its last attempt, kept with the error until an admin retries it. */
export interface OutboxDeadLettersTable extends OutboxTable {
  failed_at: number;
}

/** Settings a cluster fixes on its first start (`shards`). */
export interface ClusterSettingsTable {
  name: string;
  value: string;
}

/** The epoch each shard's writer must hold (cluster mode): raised by every batch that writes the shard. */
export interface ShardEpochsTable {
  shard: number;
  epoch: number;
}

/** Never holds a row: a fenced batch's insert into it fails (see `src/journal/shard-fence.ts`). */
export interface StaleEpochGuardTable {
  stale: number;
}

export interface Schema {
  journal: JournalTable;
  snapshots: SnapshotsTable;
  users: UsersTable;
  products: ProductsTable;
  orders: OrdersTable;
  order_items: OrderItemsTable;
  product_sales_daily: ProductSalesDailyTable;
  coupons: CouponsTable;
  user_coupons: UserCouponsTable;
  outbox: OutboxTable;
  outbox_dead_letters: OutboxDeadLettersTable;
  cluster_settings: ClusterSettingsTable;
  shard_epochs: ShardEpochsTable;
  stale_epoch_guard: StaleEpochGuardTable;
}
