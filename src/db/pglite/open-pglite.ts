// PGlite, the embedded default: PostgreSQL in-process, in a data directory or in memory.

import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGliteDialect } from 'kysely';
import { int8AsNumber } from '../int8-as-number.js';
import type { OpenedDialect } from '../opened-dialect.js';

/**
 * Opens PGlite in `dir` (made if missing), or in memory when there is none.
 *
 * ```ts
 * const opened = await openPglite('./data');
 * ```
 */
export async function openPglite(dir: string | undefined): Promise<OpenedDialect> {
  if (dir) mkdirSync(dir, { recursive: true });
  const pglite = await PGlite.create({ ...(dir ? { dataDir: dir } : {}), parsers: { [int8AsNumber.oid]: int8AsNumber.parse } });
  return {
    dialect: new PGliteDialect({ pglite }),
    traits: { dialect: 'pglite', documentType: 'text', arrayParameters: false, upsert: 'on-conflict', jsonAgg: true },
  };
}
