// A Kysely dialect for single read statements on a postgres.js pool, pipelined, never reserving a connection.

import { PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type Dialect, type Driver, type Kysely } from 'kysely';
import type postgres from 'postgres';
import { PipelinedReadDriver } from './pipelined-read-driver.js';

/**
 * Runs every query on the postgres.js pool as it is, without reserving a connection for it:
 * postgres.js pipelines queries onto busy connections, so many reads share a few connections
 * instead of queueing for one each (as `PostgresJSDialect` does, which reserves one per query).
 * Statements are prepared, so the same query text skips its describe round trip on a
 * connection that has seen it. No transactions: each statement runs on its own.
 *
 * ```ts
 * const reads = new Kysely<Schema>({ dialect: new PipelinedReadDialect(postgres(url, { max: 4 })) });
 * await reads.selectFrom('users').selectAll().execute();
 * ```
 */
export class PipelinedReadDialect implements Dialect {
  constructor(private readonly client: postgres.Sql) {}

  createAdapter() {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return new PipelinedReadDriver(this.client);
  }

  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }

  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}
