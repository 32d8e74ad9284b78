// Start-up wiring: database and migrations, journal, outbox, actors, read side and sweeper, put together into the engine.

import { hostname } from 'node:os';
import type { OrderEvent } from '../../actors/order/protocol.js';
import { Cluster, type ClusterObserver } from '../cluster/cluster.js';
import { idInShard } from '../cluster/shard-of.js';
import type { Config } from '../config.js';
import { connect, type Database } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { BatchWriter } from '../journal/batch-writer.js';
import type { JournalStore } from '../journal/journal-store.js';
import { SqlJournalStore } from '../journal/sql-journal-store.js';
import { finishedOrder, type Metrics } from '../metrics.js';
import { Outbox } from '../outbox/outbox.js';
import { AdminQueries } from '../read/admin-queries.js';
import { ReadCache } from '../read/cache.js';
import { ReadQueries } from '../read/queries.js';
import { StuckWork } from '../read/stuck-work.js';
import type { Spans } from '../tracing/spans.js';
import { DatabaseHeldError } from './database-held-error.js';
import { Engine } from './engine.js';
import type { EntityOptions } from './entity.js';
import { Gauges } from './gauges.js';
import { hostedKinds } from './kinds.js';
import { startSystem } from './nact.js';
import { Registry, type RegistryObserver } from './registry.js';
import { Sweeper } from './sweeper.js';

export interface EngineOptions {
  /** Replaces the journal's SQL store, e.g. to inject failing commits in tests. */
  readonly journalStore?: (database: Database) => JournalStore;
  /** Hears that the one-writer lock was lost and another process holds the database now (after a reconnect). */
  readonly onDatabaseTaken?: (holder: string | undefined) => void;
  /** Tracing on (`startTracing().spans`): spans for actor commands, journal commits and outbox publishes. Absent: none, at no cost. */
  readonly spans?: Spans;
}

/**
 * Opens the database, brings its schema up to date, starts every part and resumes the work a
 * previous run left half done, then answers the engine.
 *
 * ```ts
 * const engine = await startEngine(loadConfig(), new Metrics());
 * ```
 */
export async function startEngine(config: Config, metrics?: Metrics, options: EngineOptions = {}): Promise<Engine> {
  const database = await connect({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
    readPoolSize: config.dbReadPoolSize,
    // A member paused mid-batch past its lease loses its session, and with it the row locks the shard's next owner waits for.
    ...(config.cluster ? { idleInTransactionMs: config.cluster.leaseMs } : {}),
  });
  // Taken before the migrations: two processes must not migrate one database at once either.
  // A cluster's members share the database by design (their leases and fences keep them apart)
  // and hold the lock together, so a process alone and a cluster never serve one database.
  const lock = database.soleWriterLock?.(config.cluster !== undefined);
  if (lock) {
    const who = `${hostname()} pid ${process.pid} since ${new Date().toISOString()}`;
    const outcome = await lock.acquire(config.cluster ? `cluster member ${config.cluster.node}, ${who}` : who).catch(async (error: unknown) => {
      await database.close();
      throw error;
    });
    if (!outcome.ok) {
      await database.close();
      throw new DatabaseHeldError(outcome.holder, config.cluster !== undefined);
    }
    if (options.onDatabaseTaken) lock.onLost(options.onDatabaseTaken);
  }
  await migrateToLatest(database);
  await lock?.recordHolder();
  const store = options.journalStore?.(database) ?? new SqlJournalStore(database);
  const cluster = config.cluster ? await Cluster.join(config.cluster, database, store, config.requestTimeoutMs, metrics && clusterObserver(metrics)) : undefined;
  const { spans } = options;
  const outbox = await Outbox.open(database, config.outbox, {
    logLevel: config.logLevel,
    ...(metrics ? { metrics } : {}),
    ...(cluster ? { cluster: cluster.placement } : {}),
    ...(spans ? { spans } : {}),
  });
  const journal = new BatchWriter(store, {
    outbox,
    ...(cluster ? { fencing: cluster.fencing } : {}),
    ...(spans ? { spans } : {}),
    ...config.journal,
    observer: metrics && {
      batchCommitted: (_entries, events, seconds) => {
        metrics.batchEvents.observe(events);
        metrics.batchCommit.observe(seconds);
      },
      batchFailed: () => metrics.batchFailures.inc(),
    },
  });
  const system = startSystem();
  // A cluster's processes write the same read model: a view cached here could be older than a write made through another one.
  const cache = new ReadCache(cluster ? 0 : config.cacheMaxEntries, metrics && { lookup: (name, hit) => metrics.cacheLookups.inc({ cache: name, result: hit ? 'hit' : 'miss' }) });
  const registry = new Registry(
    system,
    hostedKinds,
    journal,
    {
      ...config.actors,
      snapshotEvery: config.snapshotEvery,
      replayPageSize: 1000,
      askTimeoutMs: config.requestTimeoutMs,
      views: cache,
      publishing: outbox.publishing,
      ...(cluster ? { remote: cluster.remote } : {}),
      ...(metrics ? { onCommitted: countFinishedOrders(metrics) } : {}),
      ...(spans ? { spans } : {}),
    },
    metrics && registryObserver(metrics, cluster !== undefined),
  );
  journal.holdBatchesWhile(() => registry.hasQueuedEnvelopes);
  const sweeper = new Sweeper(registry, new StuckWork(database.db), {
    intervalMs: config.sweepIntervalMs,
    orderTtlMs: config.orderTtlMs,
    // Each process resumes what its own shards left half done; a shard's next owner picks up the rest.
    ...(cluster ? { hosts: (to) => cluster.hosts(to) } : {}),
  });

  const engine = new Engine({
    config,
    database,
    registry,
    reads: new ReadQueries(database.reads, database.traits),
    admin: new AdminQueries(database.reads, database.traits),
    cache,
    outbox,
    metrics,
    gauges: metrics && new Gauges(metrics, { registry, journal, cache, outbox, ...(cluster ? { cluster } : {}) }),
    ...(cluster ? { cluster, orderId: (userId: string, id: string) => idInShard(cluster.shardOf(userId), id) } : {}),
    ping: () => database.ping(),
    async shutdown() {
      sweeper.stop();
      // Hands every shard to the other processes once what the journal holds has committed.
      await cluster?.leave();
      await journal.untilIdle();
      await outbox.close();
      registry.close();
      system.stop();
      await database.close();
      await lock?.release();
    },
  });
  outbox.start();
  cluster?.start(registry, () => journal.untilIdle(), outbox);
  await sweeper.resumeAll();
  engine.recovering = false;
  sweeper.start();
  return engine;
}

function registryObserver(metrics: Metrics, clustered: boolean): RegistryObserver {
  const local = metrics.clusterMessages.labels({ route: 'local' });
  const remote = metrics.clusterMessages.labels({ route: 'remote' });
  return {
    activated: (kind) => metrics.activations.inc({ kind }),
    passivated: (kind) => metrics.passivations.inc({ kind }),
    ...(clustered
      ? {
          posted: (far: boolean) => (far ? remote : local).inc(),
          answeredFromAfar: (seconds: number) => metrics.clusterRemoteRequests.observe(seconds),
        }
      : {}),
  };
}

/** Each order once per final status, when the event that gave it commits: a repeated or replayed request commits nothing. */
function countFinishedOrders(metrics: Metrics): NonNullable<EntityOptions['onCommitted']> {
  return (address, events) => {
    if (address.kind !== 'order') return;
    for (const event of events) {
      const finished = finishedOrder(event as OrderEvent);
      if (finished) metrics.ordersFinished.inc({ status: finished.status, reason: finished.reason });
    }
  };
}

function clusterObserver(metrics: Metrics): ClusterObserver {
  return {
    moved: (move, shards) => metrics.clusterShardMoves.inc({ move }, shards),
    renewalFailed: () => metrics.clusterRenewalFailures.inc(),
  };
}
