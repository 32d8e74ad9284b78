// MariaDB's idle_transaction_timeout on every connection of a pool: the server ends a session left idle inside a transaction.

import { CompiledQuery, type DatabaseConnection } from 'kysely';

/** What MySQL, and MariaDB before 10.3, answer to a variable they do not have. */
const ER_UNKNOWN_SYSTEM_VARIABLE = 1193;

/**
 * Kysely's `onCreateConnection` for a pool whose sessions end once idle inside a transaction for
 * `ms`, rounded up to the variable's whole seconds, at least 1. MySQL has no such variable: the
 * first connection learns that and the others go without. There a paused cluster member keeps
 * its row locks, and the shard's next owner waits until `innodb_lock_wait_timeout` fails its
 * fence, then tries again.
 *
 * ```ts
 * new MysqlDialect({ pool, onCreateConnection: idleTransactionTimeout(10_000) });
 * ```
 */
export function idleTransactionTimeout(ms: number): (connection: DatabaseConnection) => Promise<void> {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  let serverHasIt = true;
  return async (connection) => {
    if (!serverHasIt) return;
    try {
      await connection.executeQuery(CompiledQuery.raw('set session idle_transaction_timeout = ?', [seconds]));
    } catch (error) {
      if ((error as { errno?: unknown }).errno !== ER_UNKNOWN_SYSTEM_VARIABLE) throw error;
      serverHasIt = false;
    }
  };
}
