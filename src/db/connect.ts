// DATABASE_URL → a Kysely instance: the one place that branches on PGlite, PostgreSQL and MySQL.

import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, MysqlDialect, PGliteDialect, sql, type CompiledQuery, type Dialect } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import { createPool } from 'mysql2';
import postgres from 'postgres';
import type { Schema } from './schema.js';

export type DialectName = 'pglite' | 'postgres' | 'mysql';

/** What migrations need to know of the database, decided here so they stay neutral. */
export interface DbTraits {
  readonly dialect: DialectName;
  /** A text column for JSON documents of any size. */
  readonly documentType: 'text' | 'mediumtext';
  /**
   * Whole columns can be bound as arrays (`unnest($1::text[])`), so batch statements keep one
   * text and stay prepared. True for PostgreSQL through postgres.js.
   */
  readonly arrayParameters: boolean;
  /** How an INSERT adds to a row that exists: `on conflict … do update` or `on duplicate key update`. */
  readonly upsert: 'on-conflict' | 'on-duplicate-key';
}

export interface Database {
  readonly db: Kysely<Schema>;
  readonly traits: DbTraits;
  /** True when a trivial query answers. */
  ping(): Promise<boolean>;
  /**
   * Runs the statements in order in one transaction, all or nothing. On PostgreSQL they are
   * pipelined: one network round trip for the whole batch instead of one per statement.
   */
  transact(queries: readonly CompiledQuery[]): Promise<void>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  readonly url: string | undefined;
  readonly dataDir: string;
  readonly poolSize: number;
}

const INT8_OID = 20;
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
  const { dialect, traits, pipeline } = await makeDialect(options);
  const db = new Kysely<Schema>({ dialect });
  return {
    db,
    traits,
    transact:
      pipeline?.run ??
      ((queries) =>
        db.transaction().execute(async (trx) => {
          for (const query of queries) await trx.executeQuery(query);
        })),
    async ping() {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await pipeline?.close();
      await db.destroy();
    },
  };
}

/**
 * BEGIN, the statements and COMMIT sent together on one reserved connection: one network
 * round trip per batch. The connection runs them in order; after a failed statement PostgreSQL
 * refuses the rest and turns COMMIT into a rollback, so the batch is all or nothing. The
 * connection is kept for the next batch (postgres.js's `begin` on the shared pool can race
 * pipelined reads, porsager/postgres#823) and replaced after any failure.
 */
function pipelineOn(client: postgres.Sql): Pipeline {
  let reserved: Promise<postgres.ReservedSql> | undefined;
  const run = async (queries: readonly CompiledQuery[]) => {
    reserved ??= client.reserve();
    const connection = await reserved.catch((error: unknown) => {
      reserved = undefined;
      throw error;
    });
    const sent = [
      connection.unsafe('begin'),
      // Prepared: the batch statements keep the same text, and a prepared statement needs no
      // describe round trip, which would otherwise stop postgres.js from pipelining.
      ...queries.map((q) => connection.unsafe(q.sql, q.parameters as postgres.ParameterOrJSON<never>[], { prepare: true })),
      connection.unsafe('commit'),
    ];
    const settled = await Promise.allSettled(sent);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      reserved = undefined;
      await connection.unsafe('rollback').catch(() => undefined);
      connection.release();
      throw failed.reason;
    }
  };
  const close = async () => {
    const connection = await reserved?.catch(() => undefined);
    reserved = undefined;
    connection?.release();
  };
  return { run, close };
}

interface Pipeline {
  run(queries: readonly CompiledQuery[]): Promise<void>;
  close(): Promise<void>;
}

interface Made {
  readonly dialect: Dialect;
  readonly traits: DbTraits;
  readonly pipeline?: Pipeline;
}

async function makeDialect({ url, dataDir, poolSize }: ConnectOptions): Promise<Made> {
  if (!url || url.startsWith('pglite:') || url.startsWith('memory:')) {
    const dir = url?.startsWith('memory:') ? undefined : url?.startsWith('pglite:') ? url.slice('pglite:'.length) : dataDir;
    if (dir) mkdirSync(dir, { recursive: true });
    const pglite = await PGlite.create({ ...(dir ? { dataDir: dir } : {}), parsers: { [INT8_OID]: toNumber } });
    return { dialect: new PGliteDialect({ pglite }), traits: { dialect: 'pglite', documentType: 'text', arrayParameters: false, upsert: 'on-conflict' } };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const client = postgres(url, {
      max: poolSize,
      onnotice: () => {},
      connect_timeout: 5,
      types: { int8: { to: INT8_OID, from: [INT8_OID], serialize: (v: number) => String(v), parse: toNumber } },
    });
    return {
      dialect: new PostgresJSDialect({ postgres: client }),
      traits: { dialect: 'postgres', documentType: 'text', arrayParameters: true, upsert: 'on-conflict' },
      pipeline: pipelineOn(client),
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
    return { dialect: new MysqlDialect({ pool }), traits: { dialect: 'mysql', documentType: 'mediumtext', arrayParameters: false, upsert: 'on-duplicate-key' } };
  }
  throw new Error(`DATABASE_URL must start with postgres://, mysql:// or be unset for PGlite; got ${url.split(':')[0]}:`);
}
