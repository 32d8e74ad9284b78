// MySQL and MariaDB through a mysql2 pool.

import { MysqlDialect } from 'kysely';
import { createPool } from 'mysql2';
import type { OpenedDialect } from '../opened-dialect.js';
import { idleTransactionTimeout } from './idle-transaction-timeout.js';
import { mysqlSoleWriterLock } from './mysql-sole-writer-lock.js';

/**
 * Opens a pool of `poolSize` connections; a `mariadb://` URL is read as `mysql://`.
 * `idleInTransactionMs`: see `ConnectOptions`; MariaDB only (MySQL has no such setting).
 *
 * ```ts
 * const opened = openMysql('mysql://root@localhost/orders', { poolSize: 8 });
 * ```
 */
export function openMysql(url: string, { poolSize, idleInTransactionMs }: { poolSize: number; idleInTransactionMs?: number | undefined }): OpenedDialect {
  const pool = createPool({
    uri: url.replace(/^mariadb:/, 'mysql:'),
    connectionLimit: poolSize,
    // BIGINT columns as numbers while they fit, as schema.ts types them.
    supportBigNumbers: true,
    bigNumberStrings: false,
    connectTimeout: 5000,
  });
  return {
    dialect: new MysqlDialect({ pool, ...(idleInTransactionMs ? { onCreateConnection: idleTransactionTimeout(idleInTransactionMs) } : {}) }),
    traits: { dialect: 'mysql', documentType: 'mediumtext', arrayParameters: false, upsert: 'on-duplicate-key', jsonAgg: false },
    soleWriterLock: (shared) => mysqlSoleWriterLock(url, shared),
  };
}
