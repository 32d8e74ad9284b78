// DATABASE_URL → a Kysely instance: the one place that branches on PGlite, PostgreSQL and MySQL.

import { Kysely, sql, type CompiledQuery } from 'kysely';
import type { DialectTraits } from './dialect-traits.js';
import { openMysql } from './mysql/open-mysql.js';
import type { OpenedDialect, TransactionInOrder } from './opened-dialect.js';
import { openPglite } from './pglite/open-pglite.js';
import { openPostgres } from './postgres/open-postgres.js';
import type { Schema } from './schema.js';
import type { SoleWriterLock } from './sole-writer-lock.js';
import { withTimeout } from './with-timeout.js';

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
   * Like `transact`, but may be called again before the last call has finished: the
   * transactions commit in call order, and each only if every one before it that is still on
   * its way commits. So a caller keeps several batches on their way and none of them commits
   * after one that failed. Each runs on a connection of its own: its `fresh` statements while
   * the one before still runs, the `rest` once the one before has run all of its statements,
   * COMMIT once it has committed. `chain` starts a new sequence when it changes: a caller that
   * has given up on the transactions still on their way (a time-out) goes on without waiting
   * behind them. PostgreSQL only; elsewhere batches go one at a time.
   */
  readonly transactInOrder?: TransactionInOrder;
  /**
   * The lock that keeps a second engine process off this database. Absent on PGlite, which
   * runs inside the one process that opened it. `shared`: the members of a cluster hold it
   * together, and a process alone cannot take it beside them, nor they beside it.
   */
  readonly soleWriterLock?: (shared: boolean) => SoleWriterLock;
  close(): Promise<void>;
}

export interface ConnectOptions {
  readonly url: string | undefined;
  readonly dataDir: string;
  readonly poolSize: number;
  /** Connections of the PostgreSQL read pool (`reads`); 0 sends reads through `db`. */
  readonly readPoolSize?: number;
  /**
   * The server ends a session left idle inside a transaction this long (a cluster member paused
   * mid-batch would otherwise keep its row locks, and the shard's next owner waits). PostgreSQL,
   * and MariaDB in whole seconds, rounded up; MySQL has no such setting.
   */
  readonly idleInTransactionMs?: number;
}

/** Readiness asks the database this long at most, so a probe never hangs on a dead network. */
const PING_TIMEOUT_MS = 2000;

/**
 * Opens the database named by the URL: unset → PGlite under `dataDir`, `postgres://` →
 * PostgreSQL, `mysql://` → MySQL/MariaDB.
 *
 * ```ts
 * const { db } = await connect({ url: process.env.DATABASE_URL, dataDir: './data', poolSize: 8 });
 * ```
 */
export async function connect(options: ConnectOptions): Promise<Database> {
  const { dialect, traits, transact, transactInOrder, end, readDialect, soleWriterLock } = await open(options);
  const db = new Kysely<Schema>({ dialect });
  const reads = readDialect ? new Kysely<Schema>({ dialect: readDialect }) : db;
  return {
    db,
    reads,
    traits,
    ...(transactInOrder ? { transactInOrder } : {}),
    ...(soleWriterLock ? { soleWriterLock } : {}),
    transact:
      transact ??
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

async function open({ url, dataDir, poolSize, readPoolSize = 0, idleInTransactionMs }: ConnectOptions): Promise<OpenedDialect> {
  if (!url) return openPglite(dataDir);
  if (url.startsWith('memory:')) return openPglite(undefined);
  if (url.startsWith('pglite:')) return openPglite(url.slice('pglite:'.length));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgres(url, { poolSize, readPoolSize, idleInTransactionMs });
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) return openMysql(url, { poolSize, idleInTransactionMs });
  throw new Error(`DATABASE_URL must start with postgres://, mysql:// or be unset for PGlite; got ${url.split(':')[0]}:`);
}
