// The database matrix: PGlite always, PostgreSQL and MySQL when TEST_POSTGRES_URL / TEST_MYSQL_URL are set.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import postgres from 'postgres';
import { capability, type Need } from './matrix.js';

export interface TestDatabase {
  readonly name: 'pglite' | 'postgres' | 'mysql';
  /** A DATABASE_URL for the engine; PGlite gets its own data directory. */
  readonly url: string;
  drop(): Promise<void>;
}

export interface DatabaseKind {
  readonly name: TestDatabase['name'];
  /** What a suite on this database needs (nothing for PGlite); pass it to `suite(title, { needs })`. */
  readonly needs: readonly Need[];
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
  needs: [],
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'oe-pglite-'));
    return { name: 'pglite', url: `pglite:${dir}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};

const postgresKind = (adminUrl: string): DatabaseKind => ({
  name: 'postgres',
  needs: ['postgres'],
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
  needs: ['mysql'],
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

const unset = (name: TestDatabase['name'], variable: string): DatabaseKind => ({
  name,
  needs: [name as Need],
  create: () => Promise.reject(new Error(`${variable} is not set`)),
});

/**
 * Every database of the matrix, PGlite first. PostgreSQL and MySQL come from TEST_POSTGRES_URL /
 * TEST_MYSQL_URL; without one, its kind is still listed so that its suites are counted as skipped.
 */
export function databaseKinds(): DatabaseKind[] {
  const { TEST_POSTGRES_URL, TEST_MYSQL_URL } = process.env;
  return [
    pglite,
    TEST_POSTGRES_URL ? postgresKind(TEST_POSTGRES_URL) : unset('postgres', 'TEST_POSTGRES_URL'),
    TEST_MYSQL_URL ? mysqlKind(TEST_MYSQL_URL) : unset('mysql', 'TEST_MYSQL_URL'),
  ];
}

/** The databases that are here, for a test that needs one server and picks whichever is. */
export function availableDatabaseKinds(): DatabaseKind[] {
  return databaseKinds().filter((k) => k.needs.every((n) => !capability(n).missing));
}
