// DATABASE_URL → a Kysely instance: the one place that branches on PGlite, PostgreSQL and MySQL.

import { mkdirSync } from 'node:fs';
import { Socket, type SocketConstructorOpts } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, MysqlDialect, PGliteDialect, sql, type CompiledQuery, type Dialect } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import { createPool } from 'mysql2';
import postgres from 'postgres';
import { PipelinedReadDialect } from './pipelined-read-dialect.js';
import type { DialectTraits } from './dialect-traits.js';
import type { Schema } from './schema.js';
import { connectionLost, withTimeout } from './unavailable.js';

export interface Database {
  readonly db: Kysely<Schema>;
  /**
   * For single read statements outside any transaction (the read side's queries). On
   * PostgreSQL a pool of its own whose queries are pipelined, so reads neither queue for a
   * connection each nor wait behind the journal's batches; elsewhere the same instance as `db`.
   */
  readonly reads: Kysely<Schema>;
  readonly traits: DialectTraits;
  /** True when a trivial query answers. */
  ping(): Promise<boolean>;
  /**
   * Runs the statements in order in one transaction, all or nothing. On PostgreSQL they are
   * pipelined: one network round trip for the whole batch instead of one per statement.
   */
  transact(queries: readonly CompiledQuery[]): Promise<void>;
  /**
   * Like `transact`, but may be called again before the last call has settled: the transactions
   * commit in call order, and each only if every one before it that is still unsettled commits.
   * So a caller keeps several batches on their way and none of them commits after one that
   * failed. `chain` starts a new sequence when it changes: a caller that has given up on the
   * transactions still on their way (a time-out) goes on without waiting behind them.
   * PostgreSQL only; elsewhere batches go one at a time.
   */
  readonly transactInOrder?: (queries: readonly CompiledQuery[], chain: number) => Promise<void>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  readonly url: string | undefined;
  readonly dataDir: string;
  readonly poolSize: number;
  /** Connections of the PostgreSQL read pool (`reads`); 0 sends reads through `db`. */
  readonly readPoolSize?: number;
}

const INT8_OID = 20;
/** Readiness asks the database this long at most, so a probe never hangs on a dead network. */
const PING_TIMEOUT_MS = 2000;
const toNumber = (value: string): number => Number(value);

/**
 * Opens the database named by the URL: unset → PGlite under `dataDir`, `postgres://` →
 * PostgreSQL, `mysql://` → MySQL/MariaDB.
 *
 * ```ts
 * const { db } = await connect({ url: process.env.DATABASE_URL, dataDir: './data', poolSize: 8 });
 * ```
 */
export async function connect(options: ConnectOptions): Promise<Database> {
  const { dialect, traits, pipeline, end, readDialect } = await makeDialect(options);
  const db = new Kysely<Schema>({ dialect });
  const reads = readDialect ? new Kysely<Schema>({ dialect: readDialect }) : db;
  return {
    db,
    reads,
    traits,
    ...(pipeline ? { transactInOrder: pipeline.runInOrder } : {}),
    transact:
      pipeline?.run ??
      ((queries) =>
        db.transaction().execute(async (trx) => {
          for (const query of queries) await trx.executeQuery(query);
        })),
    async ping() {
      try {
        await withTimeout(sql`select 1`.execute(db), PING_TIMEOUT_MS, 'ping');
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await end?.();
      if (reads !== db) await reads.destroy();
      await db.destroy();
    },
  };
}

/**
 * BEGIN, the statements and COMMIT sent together on one reserved connection: one network
 * round trip per batch. The connection runs them in order; after a failed statement PostgreSQL
 * refuses the rest and turns COMMIT into a rollback, so the batch is all or nothing. A
 * connection is reserved per batch (postgres.js's `begin` on the shared pool can race
 * pipelined reads, porsager/postgres#823), so none sits reserved and idle while the server
 * goes away under it.
 */
function pipelineOn(client: postgres.Sql): Pipeline {
  // Prepared: the batch statements keep the same text, and a prepared statement needs no
  // describe round trip, which would otherwise stop postgres.js from pipelining.
  const send = (connection: postgres.ReservedSql, q: CompiledQuery) =>
    connection.unsafe(q.sql, q.parameters as postgres.ParameterOrJSON<never>[], { prepare: true });

  /** Where transactions sent in order go while any of them is unsettled; none when all have settled. */
  let chain: { readonly id: number; readonly connection: Promise<postgres.ReservedSql>; unsettled: number; last: string } | undefined;
  let marks = 0;

  return {
    async run(queries) {
      const connection = await client.reserve();
      const sent = [connection.unsafe('begin'), ...queries.map((q) => send(connection, q)), connection.unsafe(COMMIT)];
      const failed = await settle(sent);
      if (failed !== undefined) await connection.unsafe('rollback').catch(() => undefined);
      connection.release();
      if (failed !== undefined) throw failed;
    },

    /**
     * Transactions sent while an earlier one is unsettled go on its connection, right behind it,
     * so PostgreSQL runs them back to back and the engine never waits a round trip in between.
     * Each one's last statement records its mark in a session setting, which a failed
     * transaction takes back; the next one's first statement divides by zero unless the mark
     * is its predecessor's. So one failure fails everything sent behind it.
     */
    async runInOrder(queries, id) {
      const chained = chain !== undefined && chain.id === id;
      const link = chained && chain ? chain : (chain = { id, connection: client.reserve(), unsettled: 0, last: '' });
      const previous = link.last;
      const mark = String(++marks);
      link.last = mark;
      link.unsettled++;
      try {
        const connection = await link.connection;
        // Statements go out in the order they are made: BEGIN first, then the guard.
        const begin = connection.unsafe('begin');
        const guard = chained ? connection.unsafe(PREDECESSOR_COMMITTED, [previous], { prepare: true }) : undefined;
        const sent = [
          begin,
          ...(guard ? [guard] : []),
          ...queries.map((q) => send(connection, q)),
          connection.unsafe(RECORD_MARK, [mark], { prepare: true }),
          // After a failed statement PostgreSQL turns this COMMIT into a rollback. No explicit
          // ROLLBACK may follow: the next transaction may already be queued on this connection.
          connection.unsafe(COMMIT),
        ];
        const failed = await settle(sent);
        if (failed === undefined) return;
        // Every statement after a failed one fails as "transaction aborted": name the first cause.
        const guardFailed = guard !== undefined && (await guard.then(() => false, () => true));
        throw guardFailed ? new Error('a transaction sent before this one did not commit', { cause: failed }) : failed;
      } finally {
        if (--link.unsettled === 0) {
          if (chain === link) chain = undefined;
          void link.connection.then((c) => c.release(), () => undefined);
        }
      }
    },
  };
}

/**
 * COMMIT, padded to 1 KiB with a comment. postgres.js sends what it has buffered at once when
 * the buffer reaches 1 KiB, and otherwise on the next setImmediate: one whole turn of a busy
 * engine's event loop later, while PostgreSQL sits idle in the transaction, holding the hot
 * product's row, waiting for the COMMIT. Padded, the batch leaves in full right away.
 */
const COMMIT = `commit /*${' '.repeat(1024)}*/`;

/** The session setting that carries the mark of the last transaction committed in order. */
const PREDECESSOR_COMMITTED = `select 1 / coalesce((current_setting('orderengine.batch', true) = $1)::int, 0)`;
const RECORD_MARK = `select set_config('orderengine.batch', $1, false)`;

/**
 * Waits for a pipelined transaction's statements; the first failure, or undefined. When the
 * connection is lost, statements postgres.js still held back for it (while a statement's
 * describe was under way) never settle: the transaction fails with the first loss.
 */
async function settle(sent: ReadonlyArray<Promise<unknown>>): Promise<unknown> {
  const lost = new Promise<unknown>((resolve) => {
    for (const query of sent) query.catch((error: unknown) => connectionLost(error) && resolve(error));
  });
  const settled = await Promise.race([Promise.allSettled(sent), lost]);
  if (!Array.isArray(settled)) return settled ?? new Error('connection lost');
  return settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')?.reason;
}

/**
 * postgres.js 3.4.9 throws from a timer, past every catch, when a reserved connection whose
 * socket has closed is written to or released (porsager/postgres#1208): the whole engine would
 * die the moment PostgreSQL goes away. Kysely's dialect reserves a connection per query and
 * always releases it. So every reservation is guarded: once a query on it failed because the
 * connection is gone, it takes no more queries and is not released (the driver has already
 * moved it among its closed connections and reconnects it on demand).
 */
function guardReservations(client: postgres.Sql): void {
  const reserve = client.reserve;
  client.reserve = async () => {
    const reserved = await reserve();
    const { unsafe, release } = reserved;
    let lost: unknown;
    reserved.unsafe = ((...args: Parameters<typeof unsafe>) => {
      if (lost !== undefined) return Promise.reject(lost);
      const query = unsafe(...args);
      query.catch((error: unknown) => {
        if (connectionLost(error)) lost ??= error;
      });
      return query;
    }) as typeof unsafe;
    reserved.release = () => {
      if (lost === undefined) release();
    };
    return reserved;
  };
}

interface Pipeline {
  run(queries: readonly CompiledQuery[]): Promise<void>;
  runInOrder(queries: readonly CompiledQuery[], chain: number): Promise<void>;
}

interface Made {
  readonly dialect: Dialect;
  readonly traits: DialectTraits;
  readonly pipeline?: Pipeline;
  /** Closes the driver's connections, cutting off queries that do not finish in time. */
  readonly end?: () => Promise<void>;
  /** The dialect of `Database.reads`, when reads have a pool of their own. */
  readonly readDialect?: Dialect;
}

/** Bytes a PostgreSQL connection may hold unsent before a write reports backpressure. */
const WRITE_BUFFER = 64 * 1024 * 1024;

/**
 * A connection whose writes report backpressure only past WRITE_BUFFER, not Node's 16 KiB.
 * postgres.js stops pipelining on a connection the moment a write reports backpressure and
 * then sends the statements still queued one round trip at a time; a journal batch (often
 * 100 KiB or more) written while PostgreSQL is still busy with the one before would do that,
 * and PostgreSQL would sit idle in the transaction between its statements. What is unsent is
 * bounded by the batches in flight. Connects to the URL's first host.
 *
 * The socket is handed over while it connects (writes wait for the connection): a refused or
 * timed-out connection then fails through postgres.js's own error, close and reconnect
 * handling, exactly as with the socket it makes itself.
 */
function roomySocket(options: { host: string[]; port: number[]; path?: string }): Socket {
  // Node's Duplex option; @types/node leaves it out of the socket constructor's options.
  const socket = new Socket({ writableHighWaterMark: WRITE_BUFFER } as SocketConstructorOpts);
  if (options.path) socket.connect(options.path);
  else socket.connect(options.port[0] ?? 5432, options.host[0] ?? 'localhost');
  return socket;
}

/** Seconds that queries still running at close get before their connections are cut. */
const CLOSE_TIMEOUT_S = 5;

async function makeDialect({ url, dataDir, poolSize, readPoolSize = 0 }: ConnectOptions): Promise<Made> {
  if (!url || url.startsWith('pglite:') || url.startsWith('memory:')) {
    const dir = url?.startsWith('memory:') ? undefined : url?.startsWith('pglite:') ? url.slice('pglite:'.length) : dataDir;
    if (dir) mkdirSync(dir, { recursive: true });
    const pglite = await PGlite.create({ ...(dir ? { dataDir: dir } : {}), parsers: { [INT8_OID]: toNumber } });
    return { dialect: new PGliteDialect({ pglite }), traits: { dialect: 'pglite', documentType: 'text', arrayParameters: false, upsert: 'on-conflict', jsonAgg: true } };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const open = (max: number) =>
      postgres(url, {
        max,
        onnotice: () => {},
        connect_timeout: 5,
        // Reconnect at once rather than after postgres.js's growing back-off (up to 20 s): while the
        // server is away a query then fails in milliseconds (503) instead of waiting, and the first
        // query after it is back gets through.
        backoff: () => 0,
        types: { int8: { to: INT8_OID, from: [INT8_OID], serialize: (v: number) => String(v), parse: toNumber } },
        // Documented ("Custom socket") but missing from postgres.js's types.
        ...({ socket: roomySocket } as object),
      });
    const client = open(poolSize);
    guardReservations(client);
    // A pool apart: the journal reserves connections of `client` for its batches, and a
    // reservation waits for a connection with nothing in flight, which pipelined reads on the
    // same pool would seldom leave.
    const readClient = readPoolSize > 0 ? open(readPoolSize) : undefined;
    return {
      dialect: new PostgresJSDialect({ postgres: client }),
      traits: { dialect: 'postgres', documentType: 'text', arrayParameters: true, upsert: 'on-conflict', jsonAgg: true },
      pipeline: pipelineOn(client),
      end: async () => {
        await Promise.all([client.end({ timeout: CLOSE_TIMEOUT_S }), readClient?.end({ timeout: CLOSE_TIMEOUT_S })]);
      },
      ...(readClient ? { readDialect: new PipelinedReadDialect(readClient) } : {}),
    };
  }
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) {
    const pool = createPool({
      uri: url.replace(/^mariadb:/, 'mysql:'),
      connectionLimit: poolSize,
      supportBigNumbers: true,
      bigNumberStrings: false,
      connectTimeout: 5000,
    });
    return {
      dialect: new MysqlDialect({ pool }),
      traits: { dialect: 'mysql', documentType: 'mediumtext', arrayParameters: false, upsert: 'on-duplicate-key', jsonAgg: false },
    };
  }
  throw new Error(`DATABASE_URL must start with postgres://, mysql:// or be unset for PGlite; got ${url.split(':')[0]}:`);
}
