// MySQL and MariaDB through a mysql2 pool.

import { MysqlDialect } from 'kysely';
import { createPool } from 'mysql2';
import type { OpenedDialect } from '../opened-dialect.js';
import { mysqlSoleWriterLock } from './mysql-sole-writer-lock.js';

/**
 * Opens a pool of `poolSize` connections; a `mariadb://` URL is read as `mysql://`.
 *
 * ```ts
 * const opened = openMysql('mysql://root@localhost/orders', 8);
 * ```
 */
export function openMysql(url: string, poolSize: number): OpenedDialect {
  const pool = createPool({
    uri: url.replace(/^mariadb:/, 'mysql:'),
    connectionLimit: poolSize,
    // BIGINT columns as numbers while they fit, as schema.ts types them.
    supportBigNumbers: true,
    bigNumberStrings: false,
    connectTimeout: 5000,
  });
  return {
    dialect: new MysqlDialect({ pool }),
    traits: { dialect: 'mysql', documentType: 'mediumtext', arrayParameters: false, upsert: 'on-duplicate-key', jsonAgg: false },
    soleWriterLock: (shared) => mysqlSoleWriterLock(url, shared),
  };
}
