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
      pipeline ??
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
    close: () => db.destroy(),
  };
}

interface Made {
  readonly dialect: Dialect;
  readonly traits: DbTraits;
  readonly pipeline?: (queries: readonly CompiledQuery[]) => Promise<void>;
}

async function makeDialect({ url, dataDir, poolSize }: ConnectOptions): Promise<Made> {
  if (!url || url.startsWith('pglite:') || url.startsWith('memory:')) {
    const dir = url?.startsWith('memory:') ? undefined : url?.startsWith('pglite:') ? url.slice('pglite:'.length) : dataDir;
    if (dir) mkdirSync(dir, { recursive: true });
    const pglite = await PGlite.create({ ...(dir ? { dataDir: dir } : {}), parsers: { [INT8_OID]: toNumber } });
    return { dialect: new PGliteDialect({ pglite }), traits: { dialect: 'pglite', documentType: 'text' } };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const client = postgres(url, {
      max: poolSize,
      onnotice: () => {},
      connect_timeout: 5,
      types: { int8: { to: INT8_OID, from: [INT8_OID], serialize: (v: number) => String(v), parse: toNumber } },
    });
    const pipeline = async (queries: readonly CompiledQuery[]) => {
      // Returning the unawaited queries makes postgres.js pipeline them inside BEGIN … COMMIT.
      await client.begin((tx) => queries.map((q) => tx.unsafe(q.sql, q.parameters as postgres.ParameterOrJSON<never>[])));
    };
    return { dialect: new PostgresJSDialect({ postgres: client }), traits: { dialect: 'postgres', documentType: 'text' }, pipeline };
  }
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) {
    const pool = createPool({
      uri: url.replace(/^mariadb:/, 'mysql:'),
      connectionLimit: poolSize,
      supportBigNumbers: true,
      bigNumberStrings: false,
      connectTimeout: 5000,
    });
    return { dialect: new MysqlDialect({ pool }), traits: { dialect: 'mysql', documentType: 'mediumtext' } };
  }
  throw new Error(`DATABASE_URL must start with postgres://, mysql:// or be unset for PGlite; got ${url.split(':')[0]}:`);
}
