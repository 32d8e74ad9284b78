// The database matrix: PGlite always, PostgreSQL and MySQL when TEST_POSTGRES_URL / TEST_MYSQL_URL are set.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import postgres from 'postgres';

export interface TestDatabase {
  readonly name: 'pglite' | 'postgres' | 'mysql';
  /** A DATABASE_URL for the engine; PGlite gets its own data directory. */
  readonly url: string;
  drop(): Promise<void>;
}

export interface DatabaseKind {
  readonly name: TestDatabase['name'];
  create(): Promise<TestDatabase>;
}

const unique = () => `oe_t_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

const pglite: DatabaseKind = {
  name: 'pglite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'oe-pglite-'));
    return { name: 'pglite', url: `pglite:${dir}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};

const postgresKind = (adminUrl: string): DatabaseKind => ({
  name: 'postgres',
  async create() {
    const database = unique();
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${database}`);
    await admin.end();
    return {
      name: 'postgres',
      url: withDatabase(adminUrl, database),
      async drop() {
        const again = postgres(adminUrl, { max: 1, onnotice: () => {} });
        await again.unsafe(`drop database if exists ${database} with (force)`);
        await again.end();
      },
    };
  },
});

const mysqlKind = (adminUrl: string): DatabaseKind => ({
  name: 'mysql',
  async create() {
    const database = unique();
    const admin = await createConnection(adminUrl);
    await admin.query(`create database ${database}`);
    await admin.end();
    return {
      name: 'mysql',
      url: withDatabase(adminUrl, database),
      async drop() {
        const again = await createConnection(adminUrl);
        await again.query(`drop database if exists ${database}`);
        await again.end();
      },
    };
  },
});

/** The databases this run tests against, PGlite first. */
export function databaseKinds(): DatabaseKind[] {
  const kinds: DatabaseKind[] = [pglite];
  if (process.env.TEST_POSTGRES_URL) kinds.push(postgresKind(process.env.TEST_POSTGRES_URL));
  if (process.env.TEST_MYSQL_URL) kinds.push(mysqlKind(process.env.TEST_MYSQL_URL));
  return kinds;
}
