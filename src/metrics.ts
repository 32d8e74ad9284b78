// Every metric the engine exports, defined in one place and named as Prometheus recommends.

import client from 'prom-client';
import type { OrderEvent } from '../actors/order/protocol.js';

export class Metrics {
  readonly registry = new client.Registry();

  readonly httpDuration = new client.Histogram({
    name: 'orderengine_http_request_duration_seconds',
    help: 'HTTP request duration by route template, method and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** Counted by `finishedOrder` when the event that ends an order commits: once per order and status, never per request. */
  readonly ordersFinished = new client.Counter({
    name: 'orderengine_orders_finished_total',
    help: 'Orders that reached a final status (PAID, FAILED, CANCELLED, EXPIRED), counted when it committed; reason: the failure code of a FAILED order, none otherwise',
    labelNames: ['status', 'reason'] as const,
    registers: [this.registry],
  });

  readonly sagaDuration = new client.Histogram({
    name: 'orderengine_saga_duration_seconds',
    help: 'Time from a pay or cancel request to its saga outcome',
    labelNames: ['saga', 'outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly cacheLookups = new client.Counter({
    name: 'orderengine_cache_lookups_total',
    help: 'Read cache lookups by cache (user, product, order, coupon, popular) and result (hit, miss)',
    labelNames: ['cache', 'result'] as const,
    registers: [this.registry],
  });

  readonly cacheEntries = new client.Gauge({
    name: 'orderengine_cache_entries',
    help: 'Entries held by the read cache',
    registers: [this.registry],
  });

  readonly batchEvents = new client.Histogram({
    name: 'orderengine_journal_batch_events',
    help: 'Events per committed journal batch',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000],
    registers: [this.registry],
  });

  readonly batchCommit = new client.Histogram({
    name: 'orderengine_journal_commit_duration_seconds',
    help: 'Duration of one journal batch transaction',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });

  readonly batchFailures = new client.Counter({
    name: 'orderengine_journal_batch_failures_total',
    help: 'Journal batches that failed to commit',
    registers: [this.registry],
  });

  readonly activations = new client.Counter({
    name: 'orderengine_actor_activations_total',
    help: 'Actors activated (recovered from the journal) by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly passivations = new client.Counter({
    name: 'orderengine_actor_passivations_total',
    help: 'Actors passivated by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly liveActors = new client.Gauge({
    name: 'orderengine_live_actors',
    help: 'Live actors by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly mailboxMax = new client.Gauge({
    name: 'orderengine_mailbox_depth_max',
    help: 'Deepest mailbox among live actors',
    registers: [this.registry],
  });

  readonly mailboxTotal = new client.Gauge({
    name: 'orderengine_mailbox_queued_messages',
    help: 'Messages waiting in all mailboxes',
    registers: [this.registry],
  });

  readonly httpInFlight = new client.Gauge({
    name: 'orderengine_http_requests_in_flight',
    help: 'HTTP requests being handled (beyond HTTP_MAX_IN_FLIGHT new ones get 503)',
    registers: [this.registry],
  });

  readonly journalBacklog = new client.Gauge({
    name: 'orderengine_journal_backlog_events',
    help: 'Events waiting for a journal batch',
    registers: [this.registry],
  });

  readonly outboxDelivered = new client.Counter({
    name: 'orderengine_outbox_delivered_total',
    help: 'Outbox events a sink acknowledged, by sink',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });

  readonly outboxFailedAttempts = new client.Counter({
    name: 'orderengine_outbox_failed_attempts_total',
    help: 'Outbox delivery attempts that failed (error, refusal or time-out), by sink',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });

  readonly outboxBreakerState = new client.Gauge({
    name: 'orderengine_outbox_breaker_state',
    help: "A sink's circuit breaker: 0 closed, 1 half-open (probing), 2 open",
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });

  readonly outboxLag = new client.Gauge({
    name: 'orderengine_outbox_lag_seconds',
    help: 'Age of the oldest outbox event a sink has not acknowledged yet; 0 when none waits',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });

  readonly outboxDeadLetters = new client.Gauge({
    name: 'orderengine_outbox_dead_letters',
    help: 'Outbox events the relay gave up on, waiting for an admin retry',
    registers: [this.registry],
  });

  readonly clusterShardsOwned = new client.Gauge({
    name: 'orderengine_cluster_shards_owned',
    help: 'Shards this process serves (cluster mode)',
    registers: [this.registry],
  });

  readonly clusterShardMoves = new client.Counter({
    name: 'orderengine_cluster_shard_moves_total',
    help: 'Shards this process took, handed off gracefully, or lost with its lease (cluster mode)',
    labelNames: ['move'] as const,
    registers: [this.registry],
  });

  readonly clusterRenewalFailures = new client.Counter({
    name: 'orderengine_cluster_lease_renewal_failures_total',
    help: 'Lease renewals NATS did not confirm (a lease is dropped once its renewal is late)',
    registers: [this.registry],
  });

  readonly clusterMessages = new client.Counter({
    name: 'orderengine_cluster_messages_total',
    help: 'Messages to actors, by whether the actor lives in this process or another (cluster mode)',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });

  readonly clusterRemoteRequests = new client.Histogram({
    name: 'orderengine_cluster_remote_request_seconds',
    help: 'From a request to an actor in another process to its answer (cluster mode)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor() {
    // Node's process metrics keep their standard names (process_*, nodejs_*), unprefixed, so that
    // stock Node.js dashboards and alerts work on them as they are.
    client.collectDefaultMetrics({ register: this.registry });
    // prom-client names these gauges with `_total`, which Prometheus reserves for counters
    // (promtool check metrics refuses them); nodejs_active_handles, nodejs_active_requests and
    // nodejs_active_resources (by type) stay and say the same.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
  }
}

/** A final status an order reached, with the labels of orderengine_orders_finished_total. */
export interface FinishedOrder {
  readonly status: 'PAID' | 'FAILED' | 'CANCELLED' | 'EXPIRED';
  /** The failure's error code for FAILED (INSUFFICIENT_POINTS, OUT_OF_STOCK, …), `none` otherwise. */
  readonly reason: string;
}

/** The final status an order event gives its order; undefined for events that do not end one. */
export function finishedOrder(event: OrderEvent): FinishedOrder | undefined {
  switch (event.type) {
    case 'OrderPaid':
      return { status: 'PAID', reason: 'none' };
    case 'OrderFailed':
      return { status: 'FAILED', reason: event.failure.error };
    case 'OrderCancelled':
      return { status: 'CANCELLED', reason: 'none' };
    case 'OrderExpired':
      return { status: 'EXPIRED', reason: 'none' };
    default:
      return undefined;
  }
}
