// A Kysely dialect for single read statements on a postgres.js pool, pipelined, never reserving a connection.

import {
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';
import type postgres from 'postgres';

/** Thrown when something tries a transaction through the read dialect. */
export class ReadOnlyDialectError extends Error {
  override readonly name = 'ReadOnlyDialectError';
}

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

class PipelinedReadDriver implements Driver {
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
