// Environment variables → one typed, validated configuration object.

import { hostname } from 'node:os';
import { cleanEnv, makeValidator, str } from 'envalid';

const int = makeValidator<number>((input) => {
  const value = Number(input);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`expected a non-negative integer, got "${input}"`);
  return value;
});

const streamName = makeValidator<string>((input) => {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(input)) throw new Error(`expected a JetStream stream name (letters, digits, _ and -), got "${input}"`);
  return input;
});

const subjectPrefix = makeValidator<string>((input) => {
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(input)) throw new Error(`expected subject tokens separated by dots, without wildcards, got "${input}"`);
  return input;
});

/** How the outbox relay delivers: to NATS JetStream and/or the webhook, or to the log when neither is set. */
export interface OutboxConfig {
  readonly natsUrl: string | undefined;
  readonly natsStream: string;
  /** Events are published on `<prefix>.<event type>`; the stream captures `<prefix>.>`. */
  readonly natsSubjectPrefix: string;
  readonly dataPlatformUrl: string | undefined;
  /** Deliveries in flight per sink at most. */
  readonly concurrency: number;
  /** How long one delivery waits for the broker's acknowledgement or the webhook's answer. */
  readonly timeoutMs: number;
  /** Failed attempts after which an event becomes a dead letter. */
  readonly maxAttempts: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** Consecutive failures that open a sink's circuit. */
  readonly breakerFailures: number;
  /** How long an open circuit waits before one probe. */
  readonly breakerHalfOpenMs: number;
  /** In a cluster, how often a relay reads the table for rows of the shards its process serves. */
  readonly pollMs: number;
  /** Rows per sink held in memory at most; beyond it the relay reads them back from the table. */
  readonly window: number;
}

export interface ClusterConfig {
  readonly natsUrl: string;
  /** Prefix of the cluster's KV buckets and subjects. */
  readonly name: string;
  /** This process's name (a NATS subject token). */
  readonly node: string;
  readonly shards: number;
  readonly leaseMs: number;
}

/** Names used inside NATS subjects and bucket names: letters, digits, `_` and `-` only. */
const subjectToken = (name: string): string => name.replace(/[^A-Za-z0-9_-]/g, '_');

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Unset: embedded PGlite under `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** Unset, empty or blank ADMIN_TOKEN: the admin API answers 403. */
  readonly adminToken: string | undefined;
  readonly orderTtlMs: number;
  readonly natsUrl: string | undefined;
  readonly dataPlatformUrl: string | undefined;
  readonly outbox: OutboxConfig;
  readonly logLevel: string;
  readonly journal: {
    /** Events per batch (one transaction) at most. */
    readonly maxBatchEvents: number;
    /** Events waiting for a batch at most; beyond it commands are refused with 503 OVERLOADED. */
    readonly maxQueuedEvents: number;
    /** A journal commit or read taking longer fails (503), so a silent database never hangs a request. */
    readonly timeoutMs: number;
    /** How long a batch may wait for sagas still moving in memory before it is cut. */
    readonly holdMs: number;
    /** Batches on their way at once where the database keeps them in order (PostgreSQL). */
    readonly maxInFlight: number;
  };
  readonly snapshotEvery: number;
  readonly actors: {
    /** Live actors at most; the least recently used idle ones are passivated beyond it. */
    readonly maxLive: number;
    readonly idleMs: number;
    /** Command ids each actor remembers in memory; older ones are checked in the journal. */
    readonly windowSize: number;
    /** Messages queued for one actor beyond which requests for it are refused with 429 MAILBOX_FULL. */
    readonly mailboxMax: number;
  };
  readonly http: {
    /** Requests in flight beyond which new ones are refused with 503 OVERLOADED (health and metrics exempt). */
    readonly maxInFlight: number;
  };
  readonly requestTimeoutMs: number;
  /** Entity views the read cache keeps at most; 0 turns the cache off. */
  readonly cacheMaxEntries: number;
  readonly idempotencyRetentionMs: number;
  readonly dbPoolSize: number;
  /** Connections of PostgreSQL's read pool, whose queries are pipelined; 0 sends reads through the main pool. */
  readonly dbReadPoolSize: number;
  /** How often the sweeper resumes stuck sagas and expires unpaid orders. */
  readonly sweepIntervalMs: number;
  /** Several processes as one engine on NATS JetStream; undefined: one process. */
  readonly cluster: ClusterConfig | undefined;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const e = cleanEnv(
    env,
    {
      PORT: int({ default: 3000 }),
      HOST: str({ default: '127.0.0.1' }),
      DATABASE_URL: str({ default: '' }),
      DATA_DIR: str({ default: './data' }),
      ADMIN_TOKEN: str({ default: '' }),
      ORDER_TTL: int({ default: 1800, desc: 'seconds an unpaid order lives before it expires' }),
      NATS_URL: str({ default: '' }),
      DATA_PLATFORM_URL: str({ default: '' }),
      NATS_STREAM: streamName({ default: 'ORDERS' }),
      NATS_SUBJECT_PREFIX: subjectPrefix({ default: 'orders' }),
      OUTBOX_CONCURRENCY: int({ default: 64 }),
      OUTBOX_TIMEOUT_MS: int({ default: 5000 }),
      OUTBOX_MAX_ATTEMPTS: int({ default: 10 }),
      OUTBOX_BACKOFF_MS: int({ default: 200 }),
      OUTBOX_BACKOFF_MAX_MS: int({ default: 30_000 }),
      OUTBOX_BREAKER_FAILURES: int({ default: 5 }),
      OUTBOX_BREAKER_HALF_OPEN_MS: int({ default: 5000 }),
      OUTBOX_WINDOW: int({ default: 10_000 }),
      OUTBOX_POLL_MS: int({ default: 100 }),
      LOG_LEVEL: str({ default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }),
      JOURNAL_MAX_BATCH: int({ default: 2000 }),
      JOURNAL_MAX_QUEUED: int({ default: 100_000 }),
      JOURNAL_TIMEOUT_MS: int({ default: 5000 }),
      JOURNAL_IN_FLIGHT: int({ default: 1, desc: 'batches on their way at once (PostgreSQL), each on a connection of its own, committing in order; 1 sends the next only after the last committed' }),
      JOURNAL_SETTLE_MS: int({ default: 2, desc: 'ms a batch may wait for sagas still moving in memory before it is cut' }),
      SNAPSHOT_EVERY: int({ default: 500 }),
      ACTORS_MAX_LIVE: int({ default: 200_000 }),
      ACTORS_IDLE_SECONDS: int({ default: 300 }),
      ACTORS_WINDOW: int({ default: 1024 }),
      ACTORS_MAILBOX_MAX: int({ default: 1000 }),
      HTTP_MAX_IN_FLIGHT: int({ default: 4096 }),
      REQUEST_TIMEOUT_MS: int({ default: 10_000 }),
      CACHE_MAX_ENTRIES: int({ default: 100_000, desc: 'entity views the read cache keeps; 0 turns it off' }),
      IDEMPOTENCY_RETENTION_HOURS: int({ default: 24 }),
      DB_POOL_SIZE: int({ default: 8 }),
      DB_READ_POOL_SIZE: int({ default: 2, desc: 'connections of the PostgreSQL read pool (pipelined); 0: reads share DB_POOL_SIZE' }),
      SWEEP_INTERVAL_MS: int({ default: 2000 }),
      CLUSTER_NATS_URL: str({ default: '', desc: 'NATS with JetStream the processes of a cluster share; unset: one process' }),
      CLUSTER_NAME: str({ default: 'orderengine', desc: 'prefix of the cluster’s buckets and subjects' }),
      NODE_NAME: str({ default: '', desc: 'this process’s name in the cluster; default host-pid' }),
      CLUSTER_SHARDS: int({ default: 256, desc: 'shards the actors are spread over; fixed on first start' }),
      CLUSTER_LEASE_MS: int({ default: 10_000, desc: 'a shard lease’s time to live: bounds failover' }),
    },
    {
      reporter: ({ errors }) => {
        const problems = Object.entries(errors).map(([name, error]) => `${name}: ${(error as Error).message}`);
        if (problems.length > 0) throw new Error(`invalid configuration: ${problems.join('; ')}`);
      },
    },
  );
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL || undefined,
    dataDir: e.DATA_DIR,
    // Empty or blank is unset: admin stays off (a header value's surrounding spaces are never part of it).
    adminToken: e.ADMIN_TOKEN.trim() || undefined,
    orderTtlMs: e.ORDER_TTL * 1000,
    natsUrl: e.NATS_URL || undefined,
    dataPlatformUrl: e.DATA_PLATFORM_URL || undefined,
    outbox: {
      natsUrl: e.NATS_URL || undefined,
      natsStream: e.NATS_STREAM,
      natsSubjectPrefix: e.NATS_SUBJECT_PREFIX,
      dataPlatformUrl: e.DATA_PLATFORM_URL || undefined,
      concurrency: Math.max(1, e.OUTBOX_CONCURRENCY),
      timeoutMs: Math.max(1, e.OUTBOX_TIMEOUT_MS),
      maxAttempts: Math.max(1, e.OUTBOX_MAX_ATTEMPTS),
      backoffInitialMs: Math.max(1, e.OUTBOX_BACKOFF_MS),
      backoffMaxMs: Math.max(1, e.OUTBOX_BACKOFF_MAX_MS),
      breakerFailures: Math.max(1, e.OUTBOX_BREAKER_FAILURES),
      breakerHalfOpenMs: Math.max(1, e.OUTBOX_BREAKER_HALF_OPEN_MS),
      window: Math.max(100, e.OUTBOX_WINDOW),
      pollMs: Math.max(10, e.OUTBOX_POLL_MS),
    },
    logLevel: e.LOG_LEVEL,
    journal: {
      maxBatchEvents: Math.max(1, e.JOURNAL_MAX_BATCH),
      maxQueuedEvents: Math.max(1, e.JOURNAL_MAX_QUEUED),
      timeoutMs: Math.max(1, e.JOURNAL_TIMEOUT_MS),
      holdMs: Math.max(0, e.JOURNAL_SETTLE_MS),
      maxInFlight: Math.max(1, e.JOURNAL_IN_FLIGHT),
    },
    snapshotEvery: Math.max(1, e.SNAPSHOT_EVERY),
    actors: {
      maxLive: Math.max(1, e.ACTORS_MAX_LIVE),
      idleMs: e.ACTORS_IDLE_SECONDS * 1000,
      windowSize: Math.max(1, e.ACTORS_WINDOW),
      mailboxMax: Math.max(1, e.ACTORS_MAILBOX_MAX),
    },
    http: { maxInFlight: Math.max(1, e.HTTP_MAX_IN_FLIGHT) },
    requestTimeoutMs: Math.max(1, e.REQUEST_TIMEOUT_MS),
    cacheMaxEntries: Math.max(0, e.CACHE_MAX_ENTRIES),
    idempotencyRetentionMs: e.IDEMPOTENCY_RETENTION_HOURS * 3600_000,
    dbPoolSize: Math.max(1, e.DB_POOL_SIZE),
    dbReadPoolSize: e.DB_READ_POOL_SIZE,
    sweepIntervalMs: Math.max(10, e.SWEEP_INTERVAL_MS),
    cluster: e.CLUSTER_NATS_URL
      ? {
          natsUrl: e.CLUSTER_NATS_URL,
          name: subjectToken(e.CLUSTER_NAME),
          node: subjectToken(e.NODE_NAME || `${hostname()}-${process.pid}`),
          shards: Math.max(1, Math.min(4096, e.CLUSTER_SHARDS)),
          leaseMs: Math.max(500, e.CLUSTER_LEASE_MS),
        }
      : undefined,
  };
}
