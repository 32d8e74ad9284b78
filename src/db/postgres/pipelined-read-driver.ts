// The read dialect's driver: one shared connection object over the whole postgres.js pool, no transactions.

import type { CompiledQuery, DatabaseConnection, Driver, QueryResult } from 'kysely';
import type postgres from 'postgres';
import { ReadOnlyDialectError } from './read-only-dialect-error.js';

/** Hands every query the same connection, which runs it on the pool (see `PipelinedReadDialect`). */
export class PipelinedReadDriver implements Driver {
  private readonly connection: DatabaseConnection;

  constructor(private readonly client: postgres.Sql) {
    this.connection = new PooledConnection(client);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return this.connection;
  }

  async releaseConnection(): Promise<void> {}

  beginTransaction(): Promise<void> {
    return Promise.reject(new ReadOnlyDialectError('the read dialect runs single statements; use the main Kysely instance for transactions'));
  }

  commitTransaction(): Promise<void> {
    return this.beginTransaction();
  }

  rollbackTransaction(): Promise<void> {
    return this.beginTransaction();
  }

  async destroy(): Promise<void> {
    await this.client.end();
  }
}

class PooledConnection implements DatabaseConnection {
  constructor(private readonly client: postgres.Sql) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.client.unsafe(query.sql, query.parameters as postgres.ParameterOrJSON<never>[], { prepare: true });
    return { rows: Array.from(result.values()) as R[] };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new ReadOnlyDialectError('the read dialect does not stream');
  }
}
